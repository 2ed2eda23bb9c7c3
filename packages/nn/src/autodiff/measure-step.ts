/**
 * Throughput of one training step (forward + backward in one session.run) against a
 * large float32 MatMul run by ORT in the same process with the same thread settings.
 *
 *   FLOPs per step = 6 * N_matmul * tokens + 12 * nLayers * batch * nHeads * seq^2 * headDim
 *
 * N_matmul counts every weight used in a matrix product (q, k, v, o, gate, up, down per
 * layer, and the LM head, tied or not); the embedding lookup and norms are excluded
 * (Kaplan et al. 2020, "Scaling Laws", sec. 2.1: 2N forward + 4N backward per token).
 * Attention: QK^T and PV are 2 * seq^2 * headDim each per head forward, over the full
 * (not causally halved) score matrix the graph computes, times 3 for forward + backward.
 *
 * Run: npx tsx packages/nn/src/autodiff/measure-step.ts [preset] [batch] [seq] [steps]
 */
import { pathToFileURL } from 'node:url';
import { ort } from '@distillery/onnx';
import { GraphBuilder, serializeModel } from '@distillery/onnx';
import { decoderPreset, type DecoderConfig, type DecoderPresetName } from '../decoder/config';
import { createPrng } from '../decoder/prng';
import { initDecoderWeights } from '../decoder/weights';
import { buildTrainingGraph } from './training-graph';
import { createTrainingSession } from './training-session';

export interface TrainStepMeasurement {
  secondsPerStep: number;
  tokensPerSec: number;
  flopsPerStep: number;
  gflopsPerSec: number;
}

export interface MeasureOptions {
  intraOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  warmupSteps?: number;
}

export function trainStepFlops(c: DecoderConfig, batch: number, seq: number): number {
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  const perLayer = c.hiddenSize * q + 2 * c.hiddenSize * kv + q * c.hiddenSize + 3 * c.hiddenSize * c.ffnSize;
  const nMatmul = c.nLayers * perLayer + c.hiddenSize * c.vocabSize;
  const attention = 12 * c.nLayers * batch * c.nHeads * seq * seq * c.headDim;
  return 6 * nMatmul * batch * seq + attention;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export interface Timed {
  /** Seconds taken by one run. */
  run(): Promise<number>;
  release(): Promise<void>;
}

async function openTrainStep(config: DecoderConfig, batch: number, seq: number, opts: MeasureOptions): Promise<Timed> {
  const graph = buildTrainingGraph(config, { loss: 'ce', batchSize: batch, seqLen: seq });
  const session = await createTrainingSession(graph, { intraOpNumThreads: opts.intraOpNumThreads ?? 1, graphOptimizationLevel: opts.graphOptimizationLevel });
  const params = initDecoderWeights(config, 1);
  const rng = createPrng(2);
  const tokens = (): Int32Array => Int32Array.from({ length: batch * seq }, () => Math.floor(rng.next() * config.vocabSize));
  const data = { inputIds: tokens(), targets: tokens() };
  return {
    async run() {
      const t0 = performance.now();
      await session.step(params, data);
      return (performance.now() - t0) / 1000;
    },
    release: () => session.release(),
  };
}

/** A float32 [m, k] @ [k, n] MatMul session whose `run()` returns the seconds one run took. */
export async function openMatMul(m: number, k: number, n: number, opts: MeasureOptions): Promise<Timed> {
  const b = new GraphBuilder('matmul');
  const a = b.input('a', 'float32', [m, k]);
  const w = b.input('w', 'float32', [k, n]);
  b.output(b.op('MatMul', [a, w]), 'float32', [m, n], 'y');
  const s = await ort.InferenceSession.create(serializeModel(b.toModel()).model, { intraOpNumThreads: opts.intraOpNumThreads ?? 1, interOpNumThreads: 1 });
  const rng = createPrng(3);
  const feeds = {
    a: new ort.Tensor('float32', Float32Array.from({ length: m * k }, () => rng.next() - 0.5), [m, k]),
    w: new ort.Tensor('float32', Float32Array.from({ length: k * n }, () => rng.next() - 0.5), [k, n]),
  };
  return {
    async run() {
      const t0 = performance.now();
      await s.run(feeds);
      return (performance.now() - t0) / 1000;
    },
    release: () => s.release(),
  };
}

function stepMeasurement(config: DecoderConfig, batch: number, seq: number, secondsPerStep: number): TrainStepMeasurement {
  const flopsPerStep = trainStepFlops(config, batch, seq);
  return { secondsPerStep, tokensPerSec: (batch * seq) / secondsPerStep, flopsPerStep, gflopsPerSec: flopsPerStep / secondsPerStep / 1e9 };
}

/** Median seconds of one training step (cross-entropy, after warm-up) and the FLOP rate it implies. */
export async function measureTrainStep(
  config: DecoderConfig,
  batch: number,
  seq: number,
  steps: number,
  opts: MeasureOptions = {},
): Promise<TrainStepMeasurement> {
  const step = await openTrainStep(config, batch, seq, opts);
  try {
    for (let i = 0; i < (opts.warmupSteps ?? 1); i++) await step.run();
    const times: number[] = [];
    for (let i = 0; i < steps; i++) times.push(await step.run());
    return stepMeasurement(config, batch, seq, median(times));
  } finally {
    await step.release();
  }
}

/** GFLOP/s of an [m, k] @ [k, n] float32 MatMul in ORT (median of `reps` runs after one warm-up). */
export async function measureMatMulGflops(m = 2048, k = 1024, n = 1024, reps = 5, opts: MeasureOptions = {}): Promise<number> {
  const mm = await openMatMul(m, k, n, opts);
  try {
    await mm.run();
    const times: number[] = [];
    for (let i = 0; i < reps; i++) times.push(await mm.run());
    return (2 * m * k * n) / median(times) / 1e9;
  } finally {
    await mm.release();
  }
}

export interface StepVsMatMul {
  step: TrainStepMeasurement;
  matmulGflopsPerSec: number;
  /** step GFLOP/s / MatMul GFLOP/s. */
  ratio: number;
}

/**
 * Training step against a 2048x1024x1024 MatMul, timed alternately (step, MatMul, step,
 * ...) so load from other processes on a shared machine hits both alike.
 */
export async function measureStepVsMatMul(config: DecoderConfig, batch: number, seq: number, steps: number, opts: MeasureOptions = {}): Promise<StepVsMatMul> {
  const step = await openTrainStep(config, batch, seq, opts);
  const mm = await openMatMul(2048, 1024, 1024, opts);
  try {
    await step.run();
    await mm.run();
    const stepTimes: number[] = [];
    const mmTimes: number[] = [];
    for (let i = 0; i < steps; i++) {
      stepTimes.push(await step.run());
      for (let j = 0; j < 3; j++) mmTimes.push(await mm.run());
    }
    const s = stepMeasurement(config, batch, seq, median(stepTimes));
    const matmulGflopsPerSec = (2 * 2048 * 1024 * 1024) / median(mmTimes) / 1e9;
    return { step: s, matmulGflopsPerSec, ratio: s.gflopsPerSec / matmulGflopsPerSec };
  } finally {
    await step.release();
    await mm.release();
  }
}

async function main(): Promise<void> {
  const [preset = 'ref-5m', batch = '8', seq = '256', steps = '5', threads = '1'] = process.argv.slice(2);
  const config = decoderPreset(preset as DecoderPresetName);
  const r = await measureStepVsMatMul(config, Number(batch), Number(seq), Number(steps), { intraOpNumThreads: Number(threads) });
  console.log(
    `${preset} batch ${batch} x ${seq}, ${threads} ORT thread(s): ${(r.step.secondsPerStep * 1000).toFixed(0)} ms/step, ` +
      `${r.step.tokensPerSec.toFixed(0)} tokens/s, ${(r.step.flopsPerStep / 1e9).toFixed(2)} GFLOP/step, ${r.step.gflopsPerSec.toFixed(1)} GFLOP/s; ` +
      `MatMul 2048x1024x1024 ${r.matmulGflopsPerSec.toFixed(1)} GFLOP/s; ratio ${r.ratio.toFixed(2)}`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
