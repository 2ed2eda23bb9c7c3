/**
 * Where the base model's distribution comes from when a model is compared with it: run
 * live on the same batch (two models per ORT step), or read from rows cached by an
 * earlier scan of the base (base-logprob-cache.ts). Also the KL-on-calibration measure
 * that per-layer sensitivity calls for each candidate model.
 */
import type { Model } from '@distillery/onnx';
import { MemoryBaseRows, recordRows, type BaseRows } from './base-logprob-cache';
import { perplexity } from './perplexity';
import type { DivergenceResult } from './divergence-accumulator';
import type { BaseFeed, ScoredSlot } from './token-scan';
import { openScorer, type WindowScorer } from './window-scorer';

/** Runs the base scorer on each batch first; its log-distribution feeds the model's KL. */
export function liveBase(base: WindowScorer): BaseFeed {
  return {
    async forBatch(ids, batch, length, slots) {
      const s = await base.score({ ids, batch, length, logprobs: true });
      const top1 = Int32Array.from(slots, (x) => Number(s.topIds[(x.row * length + x.position) * s.k]));
      return { logprobs: s.logprobs!, top1 };
    },
  };
}

/**
 * Feeds cached rows, scattered to the positions they were scored at. Positions that score
 * nothing (the overlap of strided windows) get a uniform distribution, whose KL is
 * computed and ignored.
 */
export function cachedBase(rows: BaseRows): BaseFeed {
  let buffer = new Float32Array(0);
  let expectNext: number | undefined;
  return {
    async forBatch(_ids, batch, length, slots: readonly ScoredSlot[]) {
      const V = rows.vocab;
      if (slots.length === 0) return { logprobs: new Float32Array(batch * length * V), top1: new Int32Array(0) };
      const from = slots[0]!.scoredIndex;
      if (expectNext !== undefined && from !== expectNext) throw new Error(`cached base rows are read in scan order: expected row ${expectNext}, got ${from}`);
      if (from + slots.length > rows.rows) {
        throw new Error(`the base cache holds ${rows.rows} scored tokens but the scan needs ${from + slots.length}: it was made for other settings`);
      }
      expectNext = from + slots.length;
      const { logprobs, top1 } = await rows.read(from, slots.length);
      if (buffer.length !== batch * length * V) buffer = new Float32Array(batch * length * V);
      buffer.fill(-Math.log(V));
      slots.forEach((s, i) => buffer.set(logprobs.subarray(i * V, (i + 1) * V), (s.row * length + s.position) * V));
      return { logprobs: buffer, top1: Int32Array.from(top1) };
    },
  };
}

export interface CalibrationDivergence extends DivergenceResult {
  /** Mean NLL of the candidate and of the base on the same tokens (nats/token). */
  nll: number;
  baseNll: number;
}

export interface CalibrationBase {
  rows: BaseRows;
  nll: number;
  sequenceLength: number;
  sequences: number;
}

function concat(sequences: readonly ArrayLike<number>[]): { tokens: Int32Array; length: number } {
  if (sequences.length === 0) throw new Error('calibration needs at least one sequence');
  const length = sequences[0]!.length;
  if (length < 2) throw new Error(`calibration sequences need at least 2 tokens (got ${length})`);
  const tokens = new Int32Array(sequences.length * length);
  sequences.forEach((s, i) => {
    if (s.length !== length) throw new Error(`calibration sequence ${i} has ${s.length} tokens; all must have ${length}`);
    tokens.set(Array.from(s), i * length);
  });
  return { tokens, length };
}

/** The sequences' tokens, after checking they are the ones the base was scored on. */
function matchingBase(base: CalibrationBase, sequences: readonly ArrayLike<number>[]): { tokens: Int32Array; length: number } {
  const { tokens, length } = concat(sequences);
  if (length !== base.sequenceLength || sequences.length !== base.sequences) {
    throw new Error(`the calibration base was scored on ${base.sequences} x ${base.sequenceLength} tokens, not ${sequences.length} x ${length}`);
  }
  return { tokens, length };
}

/** Scores the base once on the calibration sequences, keeping its rows in memory for every candidate. */
export async function calibrationBase(base: Model, sequences: readonly ArrayLike<number>[], opts: { threads?: number; batch?: number } = {}): Promise<CalibrationBase> {
  const { tokens, length } = concat(sequences);
  const scorer = await openScorer(base, { threads: opts.threads });
  try {
    let rows: MemoryBaseRows | undefined;
    const res = await perplexity(scorer, tokens, {
      window: length,
      batch: opts.batch,
      record: async (view) => {
        rows ??= new MemoryBaseRows(view.scores.vocab);
        await recordRows(rows)(view);
      },
    });
    return { rows: rows!, nll: res.nll, sequenceLength: length, sequences: sequences.length };
  } finally {
    await scorer.release();
  }
}

/**
 * KL(base || candidate), top-1/top-5 agreement and both NLLs on calibration sequences (each
 * scored whole: every token but the first). Per-layer sensitivity calls this once per
 * candidate (one layer quantized or pruned) with one calibrationBase.
 */
export async function klOnCalibration(
  base: CalibrationBase,
  candidate: Model,
  sequences: readonly ArrayLike<number>[],
  opts: { threads?: number; batch?: number; signal?: AbortSignal } = {},
): Promise<CalibrationDivergence> {
  matchingBase(base, sequences);
  const scorer = await openScorer(candidate, { threads: opts.threads, withBase: true });
  try {
    return await klWithScorer(base, scorer, sequences, opts);
  } finally {
    await scorer.release();
  }
}

/**
 * klOnCalibration on a scorer the caller opened (withBase) and keeps: many candidates that
 * differ only in fed inputs (a probed layer's weight) then share one session.
 */
export async function klWithScorer(
  base: CalibrationBase,
  scorer: WindowScorer,
  sequences: readonly ArrayLike<number>[],
  opts: { batch?: number; signal?: AbortSignal } = {},
): Promise<CalibrationDivergence> {
  const { tokens, length } = matchingBase(base, sequences);
  if (!scorer.withBase) throw new Error('klWithScorer needs a scorer opened withBase');
  const res = await perplexity(scorer, tokens, { window: length, batch: opts.batch, base: cachedBase(base.rows), signal: opts.signal });
  return { ...res.divergence!, nll: res.nll, baseNll: base.nll };
}

/**
 * One cell of per-layer sensitivity: what changing only `layer` (quantized to `bits`, or
 * pruned to `sparsity`) costs on the calibration sequences. Rows of this shape are what a
 * run stores (Run.evaluation.sensitivity) for mixed precision and the dashboard's heatmap.
 */
export interface LayerSensitivity {
  /** Linear layer node name (inspectModel linearLayers[].node), with its block and role. */
  layer: string;
  block: number | null;
  role: string;
  change: { kind: 'quantize'; bits: number } | { kind: 'prune'; sparsity: number };
  kl: number;
  top1: number;
  /** Candidate NLL minus base NLL (nats/token); exp of it is the perplexity ratio. */
  nllDelta: number;
  perplexityRatio: number;
}

export function layerSensitivity(
  layer: { node: string; block: number | null; role: string },
  change: LayerSensitivity['change'],
  measured: CalibrationDivergence,
): LayerSensitivity {
  const nllDelta = measured.nll - measured.baseNll;
  return { layer: layer.node, block: layer.block, role: layer.role, change, kl: measured.kl, top1: measured.top1, nllDelta, perplexityRatio: Math.exp(nllDelta) };
}
