/** Format detection by content on real files of each kind and on near misses, whatever their names. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDecoder, decoderPreset, initDecoderWeights } from '@distillery/nn';
import { serializeModel } from '@distillery/onnx';
import { referenceModelDir } from '@distillery/reference';
import { DETECT_BYTES, detectFileFormat, detectFormat, exportGguf, exportHfFolder, writeLlama2c } from '../src/index';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'detect-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const i32 = (values: number[]) => new Uint8Array(Int32Array.from(values).buffer);
const ofBytes = (bytes: Uint8Array) => detectFormat(bytes.subarray(0, DETECT_BYTES), bytes.byteLength).format;

describe('detectFormat', () => {
  it('recognises GGUF and ONNX files by their bytes, whatever their names', async () => {
    const gguf = path.join(tmp, 'model.onnx');
    await exportGguf(referenceModelDir(), gguf, 'q8_0');
    expect((await detectFileFormat(gguf)).format).toBe('gguf');
    const onnx = path.join(tmp, 'weights.gguf');
    await writeFile(onnx, await readFile(path.join(referenceModelDir(), 'onnx/model.onnx')));
    expect(await detectFileFormat(onnx)).toMatchObject({ format: 'onnx', reason: expect.stringMatching(/ir_version \d+/) });
  });

  it('tells safetensors, a shard index, llama2.c and a built ONNX decoder apart by content', async () => {
    const config = decoderPreset('tiny');
    const weights = initDecoderWeights(config, 1);
    const single = path.join(tmp, 'single');
    await exportHfFolder(config, weights, single);
    expect((await detectFileFormat(path.join(single, 'model.safetensors'))).format).toBe('safetensors');
    const sharded = path.join(tmp, 'sharded');
    await exportHfFolder(config, weights, sharded, { maxShardBytes: 10_000 });
    expect(await detectFileFormat(path.join(sharded, 'model.safetensors.index.json'))).toEqual({ format: 'safetensors-index', reason: 'JSON with a "weight_map"' });
    const llama2c = path.join(tmp, 'weights.onnx');
    await writeLlama2c(llama2c, config, weights);
    expect((await detectFileFormat(llama2c)).format).toBe('llama2c');
    expect(ofBytes(serializeModel(buildDecoder(config, weights)).model)).toBe('onnx');
  });

  it('refuses near misses and names what it found', async () => {
    const json = Buffer.from('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}');
    const st = new Uint8Array(8 + json.length + 4);
    new DataView(st.buffer).setBigUint64(0, BigInt(json.length), true);
    st.set(json, 8);
    expect(detectFormat(st, st.length).format).toBe('safetensors');
    // Length past the file: not safetensors.
    expect(detectFormat(st, 20).format).not.toBe('safetensors');
    const fake = new Uint8Array(16);
    new DataView(fake.buffer).setBigUint64(0, 1000n, true);
    fake[8] = 0x7b;
    expect(ofBytes(fake)).not.toBe('safetensors');
    // A llama2.c header is taken only when its weights fill the file exactly.
    const config = decoderPreset('tiny');
    const file = path.join(tmp, 'cut.bin');
    await writeLlama2c(file, config, initDecoderWeights(config, 2));
    const bytes = new Uint8Array(await readFile(file));
    const cut = detectFormat(bytes.subarray(0, DETECT_BYTES), bytes.byteLength - 4);
    expect(cut).toEqual({ format: 'unknown', reason: `a llama2.c header implies ${bytes.byteLength} bytes but the file has ${bytes.byteLength - 4} (truncated or not llama2.c)` });
    expect(detectFormat(i32([288, 768, 6, 7, 6, 32000, 256]), 1000).format).toBe('unknown');
    expect(detectFormat(new Uint8Array([...Buffer.from('ak42'), 2, 0, 0, 0]), 100)).toEqual({
      format: 'unknown',
      reason: 'magic "ak42": a llama2.c versioned export, which is not read (export the legacy format, export.py --version 0)',
    });
    const text = detectFormat(Buffer.from('hello world, not a model at all!'), 32);
    expect(text).toEqual({ format: 'unknown', reason: 'first bytes 68656c6c6f20776f match no known model format (GGUF, safetensors, ONNX, llama2.c)' });
  });
});
