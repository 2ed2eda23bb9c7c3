/**
 * The step estimates against what small real runs cost on this machine (each run in a
 * fresh process, measured as a worker thread runs a step: bytes in, decode, apply,
 * serialize), and the FLOP count against a slow count over the built ONNX graph.
 * Estimates are for refusing work that cannot fit, so the stated tolerance is a factor:
 * peak memory within 2x of the measured peak, time within 3x of the measured CPU time
 * (the FLOP rate is half the ORT MatMul rate measured in CPU time in the same process, as
 * DEFAULT_FLOPS_PER_SECOND assumes). Measured here (2026-11, a loaded 2-core machine):
 * estimate / measured = 1.48 and 1.35 (rtn-int8 memory, time), 0.97 and 1.35
 * (finetune.recover), 0.90 and 1.27 (distill.kd).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDecoder, decoderPreset, initDecoderWeights, type DecoderConfig } from '@distillery/nn';
import { serializeModel } from '@distillery/onnx';
import { forwardFlops, registry, secondsOf, shapeOfDecoder } from '../src';

const MEMORY_FACTOR = 2;
const TIME_FACTOR = 3;
const REPO = path.resolve(import.meta.dirname, '../../..');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'distillery-estimates-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

interface Measured {
  peakBytes: number;
  seconds: number;
  gflops: number;
}

async function measure(config: DecoderConfig, dtype: 'float32' | 'float16', techniqueId: string, params: Record<string, unknown>): Promise<{ measured: Measured; peakBytes: number; seconds: number }> {
  const bytes = serializeModel(buildDecoder(config, initDecoderWeights(config, 1, 0.2), { weightDtype: dtype })).model;
  const file = path.join(dir, `${techniqueId}-${bytes.byteLength}.onnx`);
  await writeFile(file, bytes);
  const child = spawnSync(process.execPath, ['--import', 'tsx', 'packages/techniques/test/measure-step-child.ts', file, techniqueId, JSON.stringify(params), String(config.vocabSize)], {
    cwd: REPO,
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (child.status !== 0) throw new Error(`measurement failed:\n${child.stderr}`);
  const measured = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Measured;
  const technique = registry.get(techniqueId);
  const shape = shapeOfDecoder(config, bytes.byteLength / shapeOfDecoder(config).parameters);
  const e = technique.estimate!(technique.params.parse(params) as never, shape);
  return { measured, peakBytes: e.peakBytes, seconds: secondsOf(e, (measured.gflops * 1e9) / 2) };
}

function expectWithin(estimate: number, measured: number, factor: number, what: string): void {
  const ratio = estimate / measured;
  expect(ratio, `${what}: estimate ${estimate.toFixed(3)} vs measured ${measured.toFixed(3)}`).toBeGreaterThan(1 / factor);
  expect(ratio, `${what}: estimate ${estimate.toFixed(3)} vs measured ${measured.toFixed(3)}`).toBeLessThan(factor);
}

describe('forwardFlops', () => {
  it('matches a count of every MatMul in the built graph plus the attention products', () => {
    const c = decoderPreset('tiny');
    const model = buildDecoder(c, initDecoderWeights(c, 1, 0.2));
    const dims = new Map(model.graph.initializers.map((t) => [t.name, t.dims]));
    // Slow reference: 2 * in * out per token for every MatMul whose B input is a weight.
    let perToken = 0;
    for (const n of model.graph.nodes) {
      const w = n.opType === 'MatMul' ? dims.get(n.inputs[1]!) : undefined;
      if (w && w.length === 2) perToken += 2 * w[0]! * w[1]!;
    }
    const seq = 16;
    // Scores Q K^T and the weighted sum of V: 2 * 2 * headDim * seq per head per layer per token.
    const attention = 4 * c.nLayers * c.nHeads * c.headDim * seq;
    expect(forwardFlops(shapeOfDecoder(c), 3, seq)).toBe(3 * seq * (perToken + attention));
  });
});

describe('estimates against measured runs', () => {
  it('quantize.rtn-int8 on a 21M-parameter float32 decoder', async () => {
    const c = decoderPreset('ref-5m', { vocabSize: 8192, hiddenSize: 512, nHeads: 8, nKvHeads: 8, headDim: 64, ffnSize: 1408 });
    const r = await measure(c, 'float32', 'quantize.rtn-int8', {});
    expectWithin(r.peakBytes, r.measured.peakBytes, MEMORY_FACTOR, 'peak memory');
    expectWithin(r.seconds, r.measured.seconds, TIME_FACTOR, 'time');
  });

  it('finetune.recover on the reference shape, 10 steps of 8 x 128', async () => {
    const r = await measure(decoderPreset('ref-5m'), 'float16', 'finetune.recover', { steps: 10, batchSize: 8, seqLen: 128 });
    expectWithin(r.peakBytes, r.measured.peakBytes, MEMORY_FACTOR, 'peak memory');
    expectWithin(r.seconds, r.measured.seconds, TIME_FACTOR, 'time');
  });

  it('distill.kd of a 2-layer student from the reference shape, 10 steps of 8 x 128', async () => {
    const r = await measure(decoderPreset('ref-5m'), 'float16', 'distill.kd', { student: { layers: 2 }, steps: 10, batchSize: 8, seqLen: 128 });
    expectWithin(r.peakBytes, r.measured.peakBytes, MEMORY_FACTOR, 'peak memory');
    expectWithin(r.seconds, r.measured.seconds, TIME_FACTOR, 'time');
  });
});
