/**
 * GGUF files that are wrong in one way each, built by hand or by editing a good export:
 * every one fails with an error naming the file, the field and the problem, without
 * allocating what the header claims. Version 1 (32-bit counts) and version 2 headers read.
 */
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initDecoderWeights, parseDecoderConfig } from '@distillery/nn';
import { readModelFolder, referenceModelDir, writeModelFolder } from '@distillery/reference';
import { exportGguf, GgmlType, GgufValueType, gv, importGguf, readGgufHeader, readGgufTensor, writeGguf, type GgufMetadata, type GgufTensorOut } from '../src/index';

let tmp: string;
let good: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'gguf-bad-'));
  const ref = await readModelFolder(referenceModelDir());
  const config = parseDecoderConfig({ arch: 'llama', vocabSize: 4096, hiddenSize: 32, nLayers: 1, nHeads: 2, nKvHeads: 1, headDim: 16, ffnSize: 64, maxPositions: 64, tieEmbeddings: true });
  await writeModelFolder(path.join(tmp, 'tiny'), { config, weights: initDecoderWeights(config, 3), tokenizer: ref.tokenizer, weightDtype: 'float32' });
  good = path.join(tmp, 'good.gguf');
  await exportGguf(path.join(tmp, 'tiny'), good, 'f32');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Re-writes the good file with its metadata and tensors edited. */
async function edited(name: string, edit: (meta: GgufMetadata, tensors: GgufTensorOut[]) => void): Promise<string> {
  const header = await readGgufHeader(good);
  const bytes = await readFile(good);
  const tensors: GgufTensorOut[] = header.tensors.map((t) => ({ name: t.name, ne: t.ne, type: t.type, data: () => bytes.subarray(t.offset, t.offset + t.bytes) }));
  const meta = new Map(header.metadata);
  edit(meta, tensors);
  const file = path.join(tmp, name);
  await writeGguf(file, meta, tensors);
  return file;
}

/** Little-endian bytes of a hand-written header. */
function le(parts: Array<['u32' | 'u64' | 'f32', number | bigint] | ['str32' | 'str64', string] | ['raw', Uint8Array]>): Uint8Array {
  const chunks: Buffer[] = [];
  for (const [kind, v] of parts) {
    if (kind === 'u32') { const b = Buffer.alloc(4); b.writeUInt32LE(Number(v)); chunks.push(b); }
    else if (kind === 'u64') { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); chunks.push(b); }
    else if (kind === 'f32') { const b = Buffer.alloc(4); b.writeFloatLE(Number(v)); chunks.push(b); }
    else if (kind === 'raw') chunks.push(Buffer.from(v as Uint8Array));
    else {
      const s = Buffer.from(v as string, 'utf8');
      const n = Buffer.alloc(kind === 'str32' ? 4 : 8);
      if (kind === 'str32') n.writeUInt32LE(s.length); else n.writeBigUInt64LE(BigInt(s.length));
      chunks.push(n, s);
    }
  }
  return new Uint8Array(Buffer.concat(chunks));
}

async function bytesFile(name: string, bytes: Uint8Array): Promise<string> {
  const file = path.join(tmp, name);
  await writeFile(file, bytes);
  return file;
}

describe('GGUF bad input', () => {
  it('truncated files and wrong magic', async () => {
    const whole = await readFile(good);
    const short = await bytesFile('short.gguf', whole.subarray(0, 100));
    await expect(readGgufHeader(short)).rejects.toThrow(/short\.gguf: tensor_count: claims 11 \(at offset 8\), more than the remaining 84 bytes of the file can hold/);
    const shortString = await bytesFile('short-string.gguf', le([['raw', Buffer.from('GGUF')], ['u32', 3], ['u64', 0], ['u64', 1], ['str64', 'general.name'], ['u32', GgufValueType.UINT64], ['raw', new Uint8Array(3)]]));
    await expect(readGgufHeader(shortString)).rejects.toThrow(/short-string\.gguf: general\.name: truncated: needs 8 bytes at offset \d+, the file ends at \d+/);
    const cutData = await bytesFile('cut-data.gguf', whole.subarray(0, whole.length - 10));
    await expect(readGgufHeader(cutData)).rejects.toThrow(/cut-data\.gguf: tensor [\w.]+ data: .*run past the end of the file/);
    const magic = await bytesFile('magic.gguf', le([['raw', Buffer.from('GGML')], ['u32', 3], ['u64', 0], ['u64', 0]]));
    await expect(readGgufHeader(magic)).rejects.toThrow('magic.gguf: magic: expected "GGUF", found "GGML"');
    const tiny = await bytesFile('two-bytes.gguf', Buffer.from('GG'));
    await expect(readGgufHeader(tiny)).rejects.toThrow(/two-bytes\.gguf: magic: truncated/);
    const version = await bytesFile('version.gguf', le([['raw', Buffer.from('GGUF')], ['u32', 9], ['u64', 0], ['u64', 0]]));
    await expect(readGgufHeader(version)).rejects.toThrow('version.gguf: version: 9 is not a GGUF version');
  });

  it('lengths and counts past the end of the file, and 2^60 elements, fail before allocating', async () => {
    const longString = await bytesFile('long-string.gguf', le([['raw', Buffer.from('GGUF')], ['u32', 3], ['u64', 0], ['u64', 1], ['u64', 2n ** 62n], ['raw', Buffer.from('abc'.repeat(8))]]));
    await expect(readGgufHeader(longString)).rejects.toThrow(/long-string\.gguf: metadata key #0: claims 4611686018427387904 .* more than the remaining 24 bytes/);
    const manyKv = await bytesFile('many-kv.gguf', le([['raw', Buffer.from('GGUF')], ['u32', 3], ['u64', 0], ['u64', 2n ** 40n]]));
    await expect(readGgufHeader(manyKv)).rejects.toThrow(/many-kv\.gguf: metadata_kv_count: claims 1099511627776/);
    const bigArray = await bytesFile('big-array.gguf', le([['raw', Buffer.from('GGUF')], ['u32', 3], ['u64', 0], ['u64', 1], ['str64', 'x'], ['u32', GgufValueType.ARRAY], ['u32', GgufValueType.FLOAT32], ['u64', 2n ** 50n]]));
    await expect(readGgufHeader(bigArray)).rejects.toThrow(/big-array\.gguf: x: claims 1125899906842624/);
    const huge = await bytesFile('huge.gguf', le([['raw', Buffer.from('GGUF')], ['u32', 3], ['u64', 1], ['u64', 0], ['str64', 'w'], ['u32', 2], ['u64', 2n ** 30n], ['u64', 2n ** 30n], ['u32', GgmlType.F32], ['u64', 0]]));
    await expect(readGgufHeader(huge)).rejects.toThrow(/huge\.gguf: tensor w data: 1152921504606846976 elements \(4611686018427387904 bytes at data offset 0\) run past the end of the file/);
  });

  it('unknown and unsupported tensor types', async () => {
    const header = (type: number) => le([['raw', Buffer.from('GGUF')], ['u32', 3], ['u64', 1], ['u64', 0], ['str64', 'w'], ['u32', 1], ['u64', 32], ['u32', type], ['u64', 0], ['raw', new Uint8Array(200)]]);
    await expect(readGgufHeader(await bytesFile('type99.gguf', header(99)))).rejects.toThrow('type99.gguf: tensor w type: unknown type 99 (99) is not supported');
    await expect(readGgufHeader(await bytesFile('q5k.gguf', header(GgmlType.Q5_K)))).rejects.toThrow('q5k.gguf: tensor w type: Q5_K (13) is not supported');
  });

  it('NaN or Inf weights, unknown architectures, shapes that disagree with the metadata, short vocabularies', async () => {
    const nan = await edited('nan.gguf', (_, tensors) => {
      const t = tensors.find((x) => x.name === 'blk.0.ffn_up.weight')!;
      const inner = t.data;
      t.data = () => {
        const b = new Uint8Array(inner());
        new DataView(b.buffer).setFloat32(4 * 5, NaN, true);
        return b;
      };
    });
    await expect(importGguf(nan, path.join(tmp, 'nan-out'))).rejects.toThrow('nan.gguf: tensor blk.0.ffn_up.weight: value 5 is NaN (weights must be finite)');
    const arch = await edited('arch.gguf', (m) => m.set('general.architecture', gv.str('rwkv6')));
    await expect(importGguf(arch, path.join(tmp, 'x'))).rejects.toThrow('arch.gguf: general.architecture: "rwkv6" is not supported (llama is)');
    const shape = await edited('shape.gguf', (m) => m.set('llama.feed_forward_length', gv.u32(128)));
    await expect(importGguf(shape, path.join(tmp, 'x'))).rejects.toThrow('shape.gguf: tensor blk.0.ffn_gate.weight dims: [32, 64] disagree with the metadata, which implies [32, 128]');
    const vocab = await edited('vocab.gguf', (m) => {
      const tokens = m.get('tokenizer.ggml.tokens')!;
      m.set('tokenizer.ggml.tokens', { ...tokens, value: (tokens.value as string[]).slice(0, 4000) } as typeof tokens);
    });
    await expect(importGguf(vocab, path.join(tmp, 'x'))).rejects.toThrow("vocab.gguf: tokenizer.ggml.tokens: 4000 tokens, fewer than the model's 4096 embeddings");
    const eps = await edited('eps.gguf', (m) => m.set('llama.attention.layer_norm_rms_epsilon', gv.f32(Infinity)));
    await expect(importGguf(eps, path.join(tmp, 'x'))).rejects.toThrow('eps.gguf: llama.attention.layer_norm_rms_epsilon: Infinity is not finite');
  });

  it('reads version 1 (32-bit counts and dims) and version 2 headers', async () => {
    const values = Float32Array.from({ length: 32 }, (_, i) => i / 4);
    const header = le([
      ['raw', Buffer.from('GGUF')], ['u32', 1], ['u32', 1], ['u32', 2],
      ['str32', 'general.architecture'], ['u32', GgufValueType.STRING], ['str32', 'llama'],
      ['str32', 'general.tags'], ['u32', GgufValueType.ARRAY], ['u32', GgufValueType.STRING], ['u32', 2], ['str32', 'a'], ['str32', 'bc'],
      ['str32', 'w'], ['u32', 2], ['u32', 8], ['u32', 4], ['u32', GgmlType.F32], ['u64', 0],
    ]);
    const padded = new Uint8Array(Math.ceil(header.length / 32) * 32 + 128);
    padded.set(header);
    padded.set(new Uint8Array(values.buffer), Math.ceil(header.length / 32) * 32);
    const file = await bytesFile('v1.gguf', padded);
    const h = await readGgufHeader(file);
    expect(h.version).toBe(1);
    expect(h.metadata.get('general.architecture')?.value).toBe('llama');
    expect(h.metadata.get('general.tags')?.value).toEqual(['a', 'bc']);
    expect(h.tensors[0]).toMatchObject({ name: 'w', ne: [8, 4], type: GgmlType.F32, count: 32 });
    expect(Array.from(await readGgufTensor(h, h.tensors[0]!))).toEqual(Array.from(values));

    const v2 = path.join(tmp, 'v2.gguf');
    await writeFile(v2, await readFile(good));
    const handle = await open(v2, 'r+');
    await handle.write(le([['u32', 2]]), 0, 4, 4);
    await handle.close();
    const { report } = await importGguf(v2, path.join(tmp, 'v2-out'));
    expect(report.format).toBe('gguf v2');
  });
});
