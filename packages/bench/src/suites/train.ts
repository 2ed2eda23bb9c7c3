/**
 * train: tokens/s and achieved GFLOP/s of whole training steps of a ~5M-parameter decoder
 * (the ref-5m shape, batch 8 x 256): a `train()` run, so every step includes the batch
 * draw, `session.step` (forward + backward in one ORT run), global-norm clipping and the
 * AdamW update. Next to it, the same process's ORT MatMul GFLOP/s on a 2048x1024x1024
 * product, timed interleaved (before each training step, three MatMul runs) so load from
 * other processes on a shared machine hits both alike; medians of both.
 *
 *   FLOPs per step = 6 · N_matmul · tokens + 12 · nLayers · B · nHeads · T² · headDim
 *
 * N_matmul = weights used in matrix products (q, k, v, o, gate, up, down per layer, and
 * the LM head); 6 = 2 forward + 4 backward FLOPs per weight per token (Kaplan et al. 2020,
 * sec. 2.1); the second term is QK^T and PV over the full T x T score matrix, forward and
 * backward (see trainStepFlops in packages/nn/src/autodiff/measure-step.ts).
 */
import { median } from '@distillery/eval';
import {
  buildTrainingGraph,
  createPrng,
  createTrainingSession,
  decoderPreset,
  initDecoderWeights,
  openMatMul,
  parameterCount,
  tokenBatches,
  train,
  trainStepFlops,
  type TokenBatch,
} from '@distillery/nn';
import type { BenchRow, BenchSuite } from '../suite';

const MM = [2048, 1024, 1024] as const;

async function measure(threads: number, steps: number, log: (m: string) => void): Promise<BenchRow> {
  const config = decoderPreset('ref-5m', { maxPositions: 256 });
  const [B, T] = [8, 256];
  const graph = buildTrainingGraph(config, { loss: 'ce', batchSize: B, seqLen: T });
  const session = await createTrainingSession(graph, { intraOpNumThreads: threads });
  const mm = await openMatMul(MM[0], MM[1], MM[2], { intraOpNumThreads: threads });
  const rng = createPrng(5);
  const tokens = Int32Array.from({ length: 200_000 }, () => Math.floor(rng.next() * config.vocabSize));
  const mmTimes: number[] = [];
  const stepTimes: number[] = [];
  let mmInStep = 0;
  let last = 0;
  try {
    await mm.run();
    await train<TokenBatch>({
      source: {
        step: async (params, batch) => {
          mmInStep = 0;
          for (let j = 0; j < 3; j++) {
            const s = await mm.run();
            mmTimes.push(s);
            mmInStep += s;
          }
          return session.step(params, batch);
        },
      },
      params: initDecoderWeights(config, 1),
      batches: tokenBatches({ tokens, batchSize: B, seqLen: T, seed: 1 }),
      // One extra step: the first ORT run of a session pays for allocation and is not timed.
      steps: steps + 1,
      optimizer: { lr: 1e-3 },
      clip: 1,
      onProgress: (step, total) => {
        const now = performance.now();
        // The whole optimizer step is the time between two progress calls minus the MatMuls timed inside it.
        if (step > 1) stepTimes.push((now - last) / 1000 - mmInStep);
        last = now;
        log(`${threads} thread(s): step ${step}/${total}`);
      },
    });
  } finally {
    await session.release();
    await mm.release();
  }
  const sec = median(stepTimes);
  const achievedGflops = trainStepFlops(config, B, T) / sec / 1e9;
  const matmulGflops = (2 * MM[0] * MM[1] * MM[2]) / median(mmTimes) / 1e9;
  return {
    model: 'ref-5m',
    threads,
    batch: `${B}x${T}`,
    params: parameterCount(config),
    stepMs: Math.round(sec * 1000),
    tokensPerSec: Math.round((B * T) / sec),
    achievedGflops: Math.round(achievedGflops * 10) / 10,
    matmulGflops: Math.round(matmulGflops * 10) / 10,
    ratio: Math.round((achievedGflops / matmulGflops) * 100) / 100,
  };
}

const suite: BenchSuite = {
  name: 'train',
  description: 'training throughput (whole optimizer steps) of a 5M-parameter decoder vs ORT MatMul GFLOP/s',
  async run({ quick, log }) {
    const steps = quick ? 4 : 10;
    const rows: BenchRow[] = [];
    for (const threads of [1, 2]) {
      const row = await measure(threads, steps, log);
      log(`${threads} thread(s): ${row.tokensPerSec} tokens/s, ${row.achievedGflops} GFLOP/s vs MatMul ${row.matmulGflops}: ratio ${row.ratio} (target >= 0.6)`);
      rows.push(row);
    }
    return rows;
  },
};

export default suite;
