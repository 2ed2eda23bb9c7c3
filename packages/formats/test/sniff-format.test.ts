import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDecoder, decoderPreset, initDecoderWeights } from '@distillery/nn';
import { serializeModel } from '@distillery/onnx';
import { exportHfFolder, sniffFormat, writeLlama2c } from '../src/index';

/* The importer is chosen from the bytes: the same content under a misleading name is still recognised. */

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'distillery-sniff-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const sniffFile = async (file: string) => {
  const bytes = new Uint8Array(await readFile(file));
  return sniffFormat(bytes.subarray(0, 4096), bytes.byteLength);
};

describe('sniffFormat', () => {
  it('tells safetensors, a shard index, llama2.c, ONNX and GGUF apart by content', async () => {
    const config = decoderPreset('tiny');
    const weights = initDecoderWeights(config, 1);
    const single = path.join(root, 'single');
    await exportHfFolder(config, weights, single);
    expect(await sniffFile(path.join(single, 'model.safetensors'))).toBe('safetensors');
    const sharded = path.join(root, 'sharded');
    await exportHfFolder(config, weights, sharded, { maxShardBytes: 10_000 });
    expect(await sniffFile(path.join(sharded, 'model.safetensors.index.json'))).toBe('safetensors-index');
    const llama2c = path.join(root, 'weights.onnx');
    await writeLlama2c(llama2c, config, weights);
    expect(await sniffFile(llama2c)).toBe('llama2c');
    const onnx = serializeModel(buildDecoder(config, weights)).model;
    expect(sniffFormat(onnx.subarray(0, 4096), onnx.byteLength)).toBe('onnx');
    const gguf = new Uint8Array([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0]);
    expect(sniffFormat(gguf, gguf.byteLength)).toBe('gguf');
    const text = new TextEncoder().encode('hello world, not a model');
    expect(sniffFormat(text, text.byteLength)).toBe('unknown');
  });

  it('does not take a truncated llama2.c file or a safetensors length past the end for those formats', async () => {
    const config = decoderPreset('tiny');
    const file = path.join(root, 'cut.bin');
    await writeLlama2c(file, config, initDecoderWeights(config, 2));
    const bytes = new Uint8Array(await readFile(file));
    expect(sniffFormat(bytes.subarray(0, 4096), bytes.byteLength - 4)).toBe('unknown');
    const fake = new Uint8Array(16);
    new DataView(fake.buffer).setBigUint64(0, 1000n, true);
    fake[8] = 0x7b;
    expect(sniffFormat(fake, fake.byteLength)).not.toBe('safetensors');
  });
});
