// Model files: protobuf round trips, the ONNX external-data convention
// (onnx/docs/ExternalData.md) as onnxruntime reads it, and refusal of unsafe or broken input.
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GraphBuilder,
  attr,
  decodeModel,
  encodeModel,
  float32Tensor,
  makeTensor,
  pack4Bit,
  readModel,
  serializeModel,
  writeModel,
  type Model,
  type Tensor,
} from '../src/index';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'distillery-onnx-io-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** y = x @ W + b with a 64x32 weight (8 KiB, large enough to go to external data) and small extras. */
function linearModel(withAttributeNode = true): Model {
  const b = new GraphBuilder('linear');
  const w = Float32Array.from({ length: 64 * 32 }, (_, i) => Math.sin(i) * 0.1);
  b.initializer('W', 'float32', [64, 32], w);
  b.initializer('bias', 'float32', [32], Float32Array.from({ length: 32 }, (_, i) => i / 32));
  b.addInitializer(makeTensor('packed', 'int4', [3], pack4Bit([-1, 2, 7], true)));
  b.addInitializer(makeTensor('half', 'float16', [2], Uint16Array.from([0x3c00, 0xc000])));
  const x = b.input('x', 'float32', ['batch', 64]);
  const mm = b.op('MatMul', [x, 'W'], {}, { name: '/model/layers.0/mlp/up_proj/MatMul' });
  b.output(b.op('Add', [mm, 'bias'], {}, { output: 'y' }), 'float32', ['batch', 32]);
  // Attribute kinds exercised for the round trip only (ORT rejects unknown attributes).
  if (withAttributeNode) b.graph.nodes.push({ name: 'attrs', opType: 'Identity', domain: '', inputs: [x], outputs: ['unused'], attributes: { f: attr.float(0.5), s: attr.strings(['a', 'b']), t: attr.tensor(float32Tensor('c', [1], [2])) } });
  return b.toModel({ metadata: { source: 'test' } });
}

function reference(x: Float32Array, batch: number): Float32Array {
  const m = linearModel().graph;
  const w = new Float32Array(m.initializers[0]!.raw.slice().buffer);
  const bias = new Float32Array(m.initializers[1]!.raw.slice().buffer);
  const y = new Float32Array(batch * 32);
  for (let r = 0; r < batch; r++)
    for (let c = 0; c < 32; c++) {
      let s = 0;
      for (let k = 0; k < 64; k++) s += x[r * 64 + k]! * w[k * 32 + c]!;
      y[r * 32 + c] = s + bias[c]!;
    }
  return y;
}

/** Model equality with tensor bytes compared as plain arrays (Buffer vs Uint8Array must not matter). */
function normalized(m: Model): unknown {
  const t = (x: Tensor) => ({ ...x, raw: [...x.raw] });
  return JSON.parse(
    JSON.stringify(m, (_k, v) => (v && typeof v === 'object' && 'raw' in v && 'dtype' in v ? t(v as Tensor) : v instanceof Uint8Array ? [...v] : v)),
  );
}

describe('model I/O', () => {
  it('round-trips through bytes', () => {
    const m = linearModel();
    expect(normalized(decodeModel(encodeModel(m)))).toEqual(normalized(m));
  });

  it('round-trips through a file, inline and with external data', async () => {
    const m = linearModel();
    const inline = path.join(dir, 'inline', 'model.onnx');
    await writeModel(m, inline);
    expect(normalized(await readModel(inline))).toEqual(normalized(m));

    const ext = path.join(dir, 'ext', 'model.onnx');
    await writeModel(m, ext, { externalData: true });
    const side = await readFile(`${ext}.data`);
    expect(side.byteLength).toBeGreaterThanOrEqual(64 * 32 * 4);
    expect((await readFile(ext)).byteLength).toBeLessThan(2048); // the weight is not inline
    expect(normalized(await readModel(ext))).toEqual(normalized(m));
  });

  it('writes external data that onnxruntime-node loads from the folder', async () => {
    const file = path.join(dir, 'ort', 'model.onnx');
    await writeModel(linearModel(false), file, { externalData: { location: 'weights.bin', threshold: 256 } });
    expect((await readFile(path.join(dir, 'ort', 'weights.bin'))).byteLength).toBeGreaterThanOrEqual(64 * 32 * 4);
    const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const x = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.cos(i));
    const out = await session.run({ x: new ort.Tensor('float32', x, [2, 64]) }, ['y']);
    await session.release();
    const want = reference(x, 2);
    const got = out.y!.data as Float32Array;
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 4);
  });

  it('refuses external locations that escape the model folder, naming them', async () => {
    const m = linearModel();
    for (const location of ['../outside.bin', '/etc/passwd', 'a/../../b.bin']) {
      const { model } = serializeModel(m, { externalLocation: location, threshold: 256 });
      const file = path.join(dir, 'escape', 'model.onnx');
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, model);
      await expect(readModel(file)).rejects.toThrow(new RegExp(`external data location "${location.replace(/[./]/g, '\\$&')}" escapes`));
      await expect(writeModel(m, file, { externalData: { location } })).rejects.toThrow(/escapes the model's folder/);
    }
  });

  it('refuses an external file that is a symbolic link leading out of the folder', async () => {
    const m = linearModel();
    const file = path.join(dir, 'link', 'model.onnx');
    await writeModel(m, path.join(dir, 'real', 'model.onnx'), { externalData: true });
    await writeModel(m, file, { externalData: true });
    await rm(`${file}.data`);
    await symlink(path.join(dir, 'real', 'model.onnx.data'), `${file}.data`);
    await expect(readModel(file)).rejects.toThrow(/external data location "model.onnx.data" escapes the model's folder \(symbolic link/);
  });

  it('reports a missing external file and an out-of-range external slice by tensor', async () => {
    const m = linearModel();
    const file = path.join(dir, 'missing', 'model.onnx');
    await writeModel(m, file, { externalData: true });
    await writeFile(`${file}.data`, new Uint8Array(100));
    await expect(readModel(file)).rejects.toThrow(/tensor "W": external data range/);
    await rm(`${file}.data`);
    await expect(readModel(file)).rejects.toThrow(/tensor "W": external data file "model.onnx.data" not found/);
  });

  it('says "not an ONNX model" for garbage and truncated bytes', async () => {
    const good = encodeModel(linearModel());
    const garbage = [
      new TextEncoder().encode('hello, this is not a model at all'),
      Uint8Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) & 0xff),
      new Uint8Array(0),
      good.slice(0, good.length - 200),
      good.slice(0, 9),
    ];
    for (const bytes of garbage) expect(() => decodeModel(bytes)).toThrow(/not an ONNX model/);
    const file = path.join(dir, 'garbage.onnx');
    await writeFile(file, garbage[0]!);
    await expect(readModel(file)).rejects.toThrow(new RegExp(`${file.replace(/[./]/g, '\\$&')}: not an ONNX model`));
  });

  it('refuses a tensor whose byte count does not match its shape, naming the tensor', () => {
    const { onnx } = onnxProto;
    const bytes = onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        initializer: [{ name: 'bad_weight', dataType: 1, dims: [4, 4], rawData: new Uint8Array(60) }],
      },
    }).finish();
    expect(() => decodeModel(bytes)).toThrow(/tensor "bad_weight": 60 bytes of data for float32\[4,4\] \(expected 64\)/);
    const m = linearModel();
    m.graph.initializers.push({ name: 'hand_made', dtype: 'float16', dims: [3], raw: new Uint8Array(4) });
    expect(() => encodeModel(m)).toThrow(/tensor "hand_made": 4 bytes .* \(expected 6\)/);
    expect(() => makeTensor('t', 'int4', [5], new Uint8Array(2))).toThrow(/tensor "t"/);
  });
});
