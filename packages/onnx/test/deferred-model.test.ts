// Streamed writing of a model whose initializers are read one at a time: the file must be
// byte for byte what writeModel writes (protobuf lengths and field order computed ahead of
// the data), ORT must run it, and a source that fails leaves no file.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GraphBuilder,
  makeTensor,
  materializeModel,
  placeholderTensor,
  readModel,
  writeDeferredModel,
  writeModel,
  type DeferredModel,
  type Model,
  type TensorSource,
} from '../src/index';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'distillery-deferred-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** y = (x @ W1) @ W2 + b; W1 is 300x200 (its varint lengths take three bytes), names and metadata non-ASCII. */
function model(): Model {
  const b = new GraphBuilder('deferred');
  b.initializer('W1', 'float32', [300, 200], Float32Array.from({ length: 300 * 200 }, (_, i) => Math.sin(i) * 0.05));
  b.addInitializer(makeTensor('W2', 'float16', [200, 16], Uint16Array.from({ length: 200 * 16 }, (_, i) => 0x2000 + (i % 0x1000))));
  b.initializer('bias', 'float32', [16], Float32Array.from({ length: 16 }, (_, i) => i / 16));
  b.addInitializer(makeTensor('empty', 'float32', [0], new Float32Array(0)));
  b.addInitializer(makeTensor('scalar', 'float32', [], Float32Array.of(1)));
  const x = b.input('x', 'float32', ['batch', 300]);
  const h = b.op('MatMul', [x, 'W1']);
  const w2 = b.op('Cast', ['W2'], { to: { type: 'int', value: 1 } });
  const y = b.op('Add', [b.op('MatMul', [h, w2]), 'bias']);
  b.output(b.op('Mul', [y, 'scalar'], {}, { output: 'y' }), 'float32', ['batch', 16]);
  return b.toModel({ metadata: { source: 'tést ✓' } });
}

/** Every initializer of at least 1 KiB becomes a source that copies its bytes when read, counting reads. */
function deferred(m: Model, reads: string[]): DeferredModel {
  const sources = new Map<string, TensorSource>();
  const initializers = m.graph.initializers.map((t) => {
    if (t.raw.byteLength < 1024) return t;
    const source: TensorSource = { dtype: t.dtype, dims: t.dims, read: async () => (reads.push(t.name), t.raw.slice()) };
    sources.set(t.name, source);
    return placeholderTensor(t.name, source);
  });
  return { model: { ...m, graph: { ...m.graph, initializers } }, sources };
}

describe('writeDeferredModel', () => {
  it('writes the bytes writeModel writes, reading each source once, in initializer order', async () => {
    const whole = path.join(dir, 'whole.onnx');
    const streamed = path.join(dir, 'streamed.onnx');
    await writeModel(model(), whole);
    const reads: string[] = [];
    const progress: string[] = [];
    const bytes = await writeDeferredModel(deferred(model(), reads), streamed, (done, total, name) => progress.push(`${done}/${total} ${name}`));
    expect(reads).toEqual(['W1', 'W2']);
    expect(progress).toEqual(['1/5 W1', '2/5 W2', '3/5 bias', '4/5 empty', '5/5 scalar']);
    const [a, b] = await Promise.all([readFile(whole), readFile(streamed)]);
    expect(bytes).toBe(a.byteLength);
    expect(b.byteLength).toBe(a.byteLength);
    expect(Buffer.compare(a, b)).toBe(0);
    expect((await readModel(streamed)).metadata.source).toBe('tést ✓');
  });

  it('gives the same outputs in ORT as the whole model, and materializes to the same model', async () => {
    const streamed = path.join(dir, 'run.onnx');
    await writeDeferredModel(deferred(model(), []), streamed);
    const x = Float32Array.from({ length: 2 * 300 }, (_, i) => Math.cos(i));
    const run = async (s: ort.InferenceSession) => ((await s.run({ x: new ort.Tensor('float32', x, [2, 300]) })).y!.data as Float32Array);
    const fromFile = await run(await ort.InferenceSession.create(streamed));
    const whole = path.join(dir, 'whole-run.onnx');
    await writeModel(await materializeModel(deferred(model(), [])), whole);
    const fromWhole = await run(await ort.InferenceSession.create(whole));
    expect(fromFile.length).toBe(32);
    expect([...fromFile]).toEqual([...fromWhole]);
    expect(Buffer.compare(await readFile(streamed), await readFile(whole))).toBe(0);
  });

  it('refuses a source of the wrong size and leaves no file', async () => {
    const d = deferred(model(), []);
    const sources = new Map(d.sources);
    sources.set('W2', { ...sources.get('W2')!, read: async () => new Uint8Array(10) });
    const file = path.join(dir, 'broken.onnx');
    await expect(writeDeferredModel({ model: d.model, sources }, file)).rejects.toThrow('tensor "W2": its source gave 10 bytes for float16[200,16] (expected 6400)');
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
    const failing = new Map(d.sources);
    failing.set('W1', { ...failing.get('W1')!, read: async () => Promise.reject(new Error('W1 holds NaN at element 3')) });
    await expect(writeDeferredModel({ model: d.model, sources: failing }, file)).rejects.toThrow('W1 holds NaN at element 3');
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
  });

  it('refuses a placeholder that disagrees with its source', async () => {
    const d = deferred(model(), []);
    const sources = new Map(d.sources);
    sources.set('W1', { ...sources.get('W1')!, dims: [200, 300] });
    await expect(writeDeferredModel({ model: d.model, sources }, path.join(dir, 'x.onnx'))).rejects.toThrow('initializer "W1" is not the placeholder of its source (float32[200,300])');
  });
});
