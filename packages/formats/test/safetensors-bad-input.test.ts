import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decoderPreset, initDecoderWeights } from '@distillery/nn';
import { exportHfFolder, importHfFolder, SafetensorsReader } from '../src/index';

/* Files that are not what they claim: each refusal names the file, the field and the problem. */

let root: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'distillery-safetensors-bad-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A file as the format's README lays it out: u64 little-endian header length, JSON header, data. */
async function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Promise<string> {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const bytes = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(bytes.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.byteLength), true);
  bytes.set(json, 8);
  bytes.set(data, 8 + json.byteLength);
  const file = path.join(root, `raw-${n++}.safetensors`);
  await writeFile(file, bytes);
  return file;
}

async function goodFolder(name: string): Promise<string> {
  const config = decoderPreset('tiny');
  const dir = path.join(root, name);
  await exportHfFolder(config, initDecoderWeights(config, 3), dir);
  return dir;
}

describe('safetensors header as the published format describes it', () => {
  it('reads dtype, shape, data offsets (relative to the end of the header) and __metadata__', async () => {
    const data = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
    const half = new Uint8Array([0x00, 0x3c, 0x00, 0xc0]); // float16 1.0 and -2.0, little-endian
    const file = await rawFile(
      { __metadata__: { format: 'pt' }, b: { dtype: 'F16', shape: [2], data_offsets: [24, 28] }, a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] } },
      new Uint8Array([...data, ...half]),
    );
    const reader = await SafetensorsReader.open(file);
    expect(reader.header.metadata).toEqual({ format: 'pt' });
    expect(reader.info('a')).toMatchObject({ dtype: 'F32', shape: [2, 3] });
    expect(Array.from(await reader.readFloat32('a'))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await reader.readFloat32('b'))).toEqual([1, -2]);
  });

  it('refuses a file shorter than the length prefix, a header length past the end, and a header that is not JSON', async () => {
    const tiny = path.join(root, 'tiny.safetensors');
    await writeFile(tiny, new Uint8Array([1, 2, 3]));
    await expect(SafetensorsReader.open(tiny)).rejects.toThrow('tiny.safetensors: header length: the file has 3 bytes, fewer than the 8-byte header length (truncated?)');
    const past = await rawFile({}, new Uint8Array(0), 1n << 40n);
    await expect(SafetensorsReader.open(past)).rejects.toThrow(/header length: 1099511627776 bytes of header go past the end of the file \(10 bytes/);
    await expect(SafetensorsReader.open(await rawFile('{"a": [1,'))).rejects.toThrow(/: header: not valid UTF-8 JSON/);
  });

  it('refuses unknown dtypes, absurd shapes without allocating, and offsets that disagree with the shape or leave the file', async () => {
    await expect(SafetensorsReader.open(await rawFile({ w: { dtype: 'F17', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)))).rejects.toThrow(
      /: w\.dtype: unknown dtype "F17" \(the format defines BOOL, U8/,
    );
    const huge = await rawFile({ w: { dtype: 'F32', shape: [1 << 30, 1 << 30, 1 << 30], data_offsets: [0, 4] } }, new Uint8Array(4));
    await expect(SafetensorsReader.open(huge)).rejects.toThrow(/w\.shape: \[1073741824, 1073741824, 1073741824\] of F32 needs 4951760157141521099596496896 bytes, more than the file's 4 bytes/);
    await expect(SafetensorsReader.open(await rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(8)))).rejects.toThrow(
      /w\.data_offsets: \[0, 4\] spans 4 bytes but shape \[2\] of F32 needs 8/,
    );
    await expect(SafetensorsReader.open(await rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(8)))).rejects.toThrow(
      /w\.data_offsets: end 12 is past the end of the file's 8 bytes of tensor data/,
    );
    await expect(SafetensorsReader.open(await rawFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }))).rejects.toThrow(/w\.shape: must be a list of non-negative integers/);
  });

  it('refuses integer tensors as weights, naming the tensor and dtype', async () => {
    const reader = await SafetensorsReader.open(await rawFile({ ids: { dtype: 'I32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)));
    await expect(reader.readFloat32('ids')).rejects.toThrow(/ids\.dtype: I32 weights are not supported \(expected one of F32, F16, BF16\)/);
  });
});

describe('safetensors folders that do not fit their config', () => {
  it('refuses a truncated shard', async () => {
    const dir = await goodFolder('truncated');
    const file = path.join(dir, 'model.safetensors');
    const size = (await readFile(file)).byteLength;
    await truncate(file, size - 100);
    await expect(importHfFolder(dir)).rejects.toThrow(/model\.safetensors: lm_head\.weight\.data_offsets: end \d+ is past the end .*truncated/);
  });

  it('refuses a tensor whose shape disagrees with config.json', async () => {
    const dir = await goodFolder('shape');
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ ...config, intermediate_size: 48 }));
    await expect(importHfFolder(dir)).rejects.toThrow('model.safetensors: model.layers.0.mlp.gate_proj.weight.shape: [64, 32] disagrees with config.json, which implies [48, 32]');
  });

  it('refuses NaN and infinite weights, naming the tensor and element', async () => {
    const config = decoderPreset('tiny');
    const weights = initDecoderWeights(config, 4);
    weights.get('model.layers.1.mlp.up_proj.weight')![5] = Number.NaN;
    const dir = path.join(root, 'nan');
    await exportHfFolder(config, weights, dir);
    await expect(importHfFolder(dir)).rejects.toThrow(/model\.safetensors: model\.layers\.1\.mlp\.up_proj\.weight: holds NaN at element \d+; weights must be finite/);
  });

  it('refuses architectures it does not build, a missing config.json and layers the shards lack', async () => {
    const dir = await goodFolder('arch');
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ ...config, model_type: 'gpt2' }));
    await expect(importHfFolder(dir)).rejects.toThrow(/config\.json: model_type: "gpt2" \(LayerNorm, learned positions, GELU\) is not a Llama-family decoder: convertHfFolder builds it with the GPT-2 builder/);
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ ...config, model_type: 'falcon' }));
    await expect(importHfFolder(dir)).rejects.toThrow('config.json: model_type: "falcon" is not supported (supported: llama, mistral, qwen2)');
    await expect(importHfFolder(path.join(root, 'nowhere'))).rejects.toThrow(/config\.json: \(file\): missing/);
    const tied = await goodFolder('untied-without-head');
    const tiedConfig = JSON.parse(await readFile(path.join(tied, 'config.json'), 'utf8'));
    const shapes = await SafetensorsReader.open(path.join(tied, 'model.safetensors'));
    expect(shapes.header.tensors.has('lm_head.weight')).toBe(true);
    await writeFile(path.join(tied, 'config.json'), JSON.stringify({ ...tiedConfig, num_hidden_layers: 3 }));
    await expect(importHfFolder(tied)).rejects.toThrow('model.safetensors: model.layers.2.input_layernorm.weight: missing (config.json describes 3 layers of a llama decoder)');
  });
});

describe('sharded folders', () => {
  it('refuses an index naming a missing shard or a shard that links outside the folder', async () => {
    const { symlink, unlink, rename } = await import('node:fs/promises');
    const config = decoderPreset('tiny');
    const dir = path.join(root, 'links');
    const written = await exportHfFolder(config, initDecoderWeights(config, 5), dir, { maxShardBytes: 10_000 });
    const name = written.files[0];
    const shard = path.join(dir, name);
    const outside = path.join(root, 'outside.safetensors');
    await rename(shard, outside);
    await expect(importHfFolder(dir)).rejects.toThrow(`model.safetensors.index.json: weight_map: names shard "${name}", which is not in the folder`);
    await symlink(outside, shard);
    await expect(importHfFolder(dir)).rejects.toThrow(`model.safetensors.index.json: weight_map: shard "${name}" leads outside the model's folder`);
    await unlink(shard);
  });
});
