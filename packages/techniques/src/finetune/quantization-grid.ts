/**
 * The fake-quantization setting that reproduces the grid a quantized decoder already has,
 * so recovery fine-tuning trains against the same integers the model ships with. The
 * training graph's quantizer sets s = clipRatio * max|W| / qmax per group (Jacob et al.
 * 2018, sec. 2.1, zero point 0); on a dequantized weight W = s0 * q, max|W| = s0 * max|q|,
 * so clipRatio = qmax / max|q| gives back s0 in every group that shares that max|q|.
 * One setting covers all layers, because the training graph takes one.
 */
import type { WeightQuantization } from '@distillery/nn';
import { fakeQuantRange } from '@distillery/nn';

export interface RecoveryGrid {
  bits: number;
  /** Rows per scale; undefined = one scale per output channel. */
  groupSize?: number;
  clipRatio: number;
  /** Nonzero groups whose scale the setting does not reproduce (their grid moves at step 0). */
  groupsOffGrid: number;
}

export function recoveryGrid(quantized: ReadonlyMap<string, WeightQuantization>, rowsOf: (name: string) => number, what: string): RecoveryGrid {
  const layers = [...quantized];
  if (!layers.length) throw new Error(`${what}: no quantized layers`);
  const bits = new Set(layers.map(([, q]) => q.bits));
  if (bits.size > 1) {
    throw new Error(`${what}: quantized layers use different bit widths (${[...bits].join(', ')}); fake quantization takes one width for the whole model`);
  }
  const grouping = new Set(layers.map(([name, q]) => (q.groupSize === rowsOf(name) ? 'per-channel' : String(q.groupSize))));
  if (grouping.size > 1) {
    throw new Error(`${what}: quantized layers mix scale groupings (${[...grouping].join(', ')}); fake quantization takes one grouping for the whole model`);
  }
  const b = [...bits][0]!;
  const g = [...grouping][0]!;
  const { hi } = fakeQuantRange(b);
  // The most common group max |q| decides the clip ratio; with clipRatio 1 it is qmax everywhere.
  const counts = new Map<number, number>();
  for (const [, q] of layers) for (const m of q.groupMaxAbs) if (m > 0) counts.set(m, (counts.get(m) ?? 0) + 1);
  let mode = hi;
  let best = 0;
  for (const [m, n] of counts) if (n > best || (n === best && m === hi)) [mode, best] = [m, n];
  let total = 0;
  for (const n of counts.values()) total += n;
  // max|q| below qmax would need clipRatio > 1, which the quantizer does not allow.
  const m = Math.max(mode, hi);
  return { bits: b, groupSize: g === 'per-channel' ? undefined : Number(g), clipRatio: hi / m, groupsOffGrid: total - (counts.get(m) ?? 0) };
}
