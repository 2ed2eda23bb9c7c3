/** Format detection by magic bytes on real files of each kind and on near misses. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceModelDir } from '@distillery/reference';
import { detectFileFormat, detectFormat, exportGguf } from '../src/index';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'detect-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const i32 = (values: number[]) => new Uint8Array(Int32Array.from(values).buffer);

describe('detectFormat', () => {
  it('recognises GGUF and ONNX files by their bytes, whatever their names', async () => {
    const gguf = path.join(tmp, 'model.onnx');
    await exportGguf(referenceModelDir(), gguf, 'q8_0');
    expect((await detectFileFormat(gguf)).format).toBe('gguf');
    const onnx = path.join(tmp, 'weights.gguf');
    await writeFile(onnx, await readFile(path.join(referenceModelDir(), 'onnx/model.onnx')));
    expect(await detectFileFormat(onnx)).toMatchObject({ format: 'onnx', reason: expect.stringMatching(/ir_version \d+/) });
  });

  it('recognises safetensors and llama2.c headers, and names what it found otherwise', () => {
    const json = Buffer.from('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}');
    const st = new Uint8Array(8 + json.length + 4);
    new DataView(st.buffer).setBigUint64(0, BigInt(json.length), true);
    st.set(json, 8);
    expect(detectFormat(st, st.length).format).toBe('safetensors');
    // Length past the file: not safetensors.
    expect(detectFormat(st, 20).format).not.toBe('safetensors');
    expect(detectFormat(i32([288, 768, 6, 6, 6, -32000, 256]), 1000).format).toBe('llama2c');
    expect(detectFormat(new Uint8Array([...Buffer.from('ak42'), 2, 0, 0, 0]), 100).format).toBe('llama2c');
    expect(detectFormat(i32([288, 768, 6, 7, 6, 32000, 256]), 1000).format).toBe('unknown');
    const text = detectFormat(Buffer.from('hello world, not a model at all!'), 32);
    expect(text).toEqual({ format: 'unknown', reason: 'first bytes 68656c6c6f20776f match no known model format (GGUF, safetensors, ONNX, llama2.c)' });
  });
});
