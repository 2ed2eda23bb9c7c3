/**
 * Gradient checking: analytic gradients (from a float32 graph) against central finite
 * differences (f(x + h e) - f(x - h e)) / 2h of the same loss in a float64 graph, per
 * sampled coordinate and along random directions over all inputs at once. Error is the
 * robust relative error ||a - b|| / max(||a||, ||b||, tiny).
 */
import { ort } from '@distillery/onnx';
import { serializeModel } from '@distillery/onnx';
import { createPrng } from '../decoder/prng';
import { Tracer, type FloatDType, type Value } from './tracer';

export interface GradCheckOptions {
  /** Finite-difference step (default 1e-5; the float64 loss keeps round-off far below). */
  step?: number;
  /** Coordinates checked per input; all of them when the input is smaller (default 16). */
  coordsPerInput?: number;
  /** Random directions for the whole-gradient check (default 2). */
  directions?: number;
  seed?: number;
}

export interface GradCheckResult {
  perInput: { name: string; relError: number; coords: number }[];
  /** Relative error of <grad, u> against the directional finite difference, per direction. */
  directional: number[];
  maxRelError: number;
}

export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return Math.sqrt(d) / Math.max(Math.sqrt(na), Math.sqrt(nb), 1e-30);
}

/**
 * Compare `analytic` (gradients at `base`) with finite differences of `lossAt`, which
 * evaluates the loss in float64 with the given values replacing those in `base`.
 */
export async function compareWithFiniteDifferences(
  analytic: Map<string, ArrayLike<number>>,
  base: Map<string, Float64Array>,
  lossAt: (values: Map<string, Float64Array>) => Promise<number>,
  opts: GradCheckOptions = {},
): Promise<GradCheckResult> {
  const h = opts.step ?? 1e-5;
  const rng = createPrng(opts.seed ?? 1);
  const perInput: GradCheckResult['perInput'] = [];
  const central = async (perturb: (values: Map<string, Float64Array>, sign: number) => void): Promise<number> => {
    const plus = new Map([...base].map(([k, v]) => [k, v.slice()]));
    const minus = new Map([...base].map(([k, v]) => [k, v.slice()]));
    perturb(plus, 1);
    perturb(minus, -1);
    return ((await lossAt(plus)) - (await lossAt(minus))) / (2 * h);
  };
  for (const [name, grad] of analytic) {
    const n = base.get(name)!.length;
    const want = opts.coordsPerInput ?? 16;
    const coords = n <= want ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: want }, () => Math.floor(rng.next() * n));
    const a: number[] = [];
    const b: number[] = [];
    for (const i of coords) {
      a.push(grad[i]!);
      b.push(await central((vals, sign) => (vals.get(name)![i]! += sign * h)));
    }
    perInput.push({ name, relError: relativeError(a, b), coords: coords.length });
  }
  const directional: number[] = [];
  for (let d = 0; d < (opts.directions ?? 2); d++) {
    const u = new Map([...analytic.keys()].map((k) => [k, Float64Array.from(base.get(k)!, () => rng.normal())]));
    let dot = 0;
    for (const [k, g] of analytic) u.get(k)!.forEach((uv, i) => (dot += uv * g[i]!));
    const fd = await central((vals, sign) => {
      for (const [k, uk] of u) {
        const v = vals.get(k)!;
        uk.forEach((uv, i) => (v[i]! += sign * h * uv));
      }
    });
    directional.push(relativeError([dot], [fd]));
  }
  const maxRelError = Math.max(...perInput.map((p) => p.relError), ...directional);
  return { perInput, directional, maxRelError };
}

export interface GradCheckInput {
  name: string;
  shape: number[];
  data: ArrayLike<number>;
  /** int64 inputs (ids, targets) are fed as is and never differentiated. */
  kind?: 'float' | 'int64';
  /** Check this float input's gradient (default true). */
  check?: boolean;
}

/** Loss of a traced graph; `inputs` are the graph inputs by name. */
export type LossBuilder = (t: Tracer, inputs: Map<string, Value>) => Value;

function traced(build: LossBuilder, inputs: GradCheckInput[], dtype: FloatDType, withGrads: boolean): Uint8Array {
  const t = new Tracer({ dtype, name: 'gradcheck' });
  const vals = new Map(inputs.map((i) => [i.name, t.input(i.name, i.shape, i.kind ?? 'float')]));
  const loss = build(t, vals);
  if (loss.rank !== 0) throw new Error('a gradient check needs a scalar loss');
  const checked = inputs.filter((i) => (i.kind ?? 'float') === 'float' && i.check !== false);
  const grads = withGrads ? t.gradients(loss, checked.map((i) => vals.get(i.name)!)) : [];
  t.output(loss, 'loss');
  checked.forEach((i, k) => withGrads && t.output(grads[k]!, `grad.${i.name}`));
  return serializeModel(t.toModel()).model;
}

/** Check every float input's gradient of the loss `build` traces; ORT runs both graphs. */
export async function checkOpGradients(build: LossBuilder, inputs: GradCheckInput[], opts: GradCheckOptions = {}): Promise<GradCheckResult> {
  const threads = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  const s32 = await ort.InferenceSession.create(traced(build, inputs, 'float32', true), { ...threads, graphOptimizationLevel: 'all' });
  const s64 = await ort.InferenceSession.create(traced(build, inputs, 'float64', false), { ...threads, graphOptimizationLevel: 'basic' });
  try {
    const feeds = (dtype: FloatDType, values: Map<string, Float64Array>): Record<string, ort.Tensor> => {
      const f: Record<string, ort.Tensor> = {};
      for (const i of inputs) {
        if (i.kind === 'int64') f[i.name] = new ort.Tensor('int64', BigInt64Array.from(Array.from(i.data, (v) => BigInt(v))), i.shape);
        else {
          const v = values.get(i.name)!;
          f[i.name] = new ort.Tensor(dtype, dtype === 'float32' ? Float32Array.from(v) : v, i.shape);
        }
      }
      return f;
    };
    // Both graphs are evaluated at the float32-representable point.
    const base = new Map(inputs.filter((i) => i.kind !== 'int64').map((i) => [i.name, Float64Array.from(Float32Array.from(i.data))]));
    const out = await s32.run(feeds('float32', base));
    const analytic = new Map<string, Float32Array>();
    for (const i of inputs) if (i.kind !== 'int64' && i.check !== false) analytic.set(i.name, out[`grad.${i.name}`]!.data as Float32Array);
    const lossAt = async (values: Map<string, Float64Array>): Promise<number> => Number((await s64.run(feeds('float64', values))).loss!.data[0]);
    return await compareWithFiniteDifferences(analytic, base, lossAt, opts);
  } finally {
    await s32.release();
    await s64.release();
  }
}
