/**
 * Decode speed of several models compared on a shared, loaded machine. One session per
 * model stays open for the whole measurement; every round, each model decodes greedily
 * from a 1-token prompt with its KV cache, and the models take their steps in turn (step k
 * of every model before step k + 1 of any, the order reversed on every other step), so a
 * burst of load from other processes falls on neighbouring steps of all models alike.
 * Against the first model, each step gives a paired ratio of wall time and one of process
 * CPU time (time spent waiting for a core counts in wall time only); the medians of those
 * ratios over every timed step are the speed-ups reported, next to each model's median
 * wall and CPU milliseconds per token.
 */
import { causalLm, createSession, median, type CausalLmSession, type PastState } from '@distillery/eval';
import type { Model } from '@distillery/onnx';

export interface PairedDecodeOptions {
  /** Decode steps per round (each model). */
  tokens: number;
  rounds: number;
  /** Untimed steps per model before the first round (allocation, kernel choice). Default 4. */
  warmupTokens?: number;
  /** Clocks in milliseconds (tests inject them). */
  now?: () => number;
  cpuNow?: () => number;
}

export interface PairedDecodeResult {
  label: string;
  /** Median wall milliseconds per decoded token, over every timed step. */
  wallMsPerToken: number;
  /** Median process CPU milliseconds per decoded token. */
  cpuMsPerToken: number;
  /** 1000 / wallMsPerToken. */
  tokPerSec: number;
  /** Median over timed steps of (first model's step wall time / this model's). */
  wallSpeedup: number;
  /** The same with process CPU time. */
  cpuSpeedup: number;
  steps: number;
}

function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function argmax(logits: Float32Array, vocab: number): number {
  let best = 0;
  for (let j = 1; j < vocab; j++) if (logits[j]! > logits[best]!) best = j;
  return best;
}

export async function pairedDecode(models: { label: string; model: Model }[], opts: PairedDecodeOptions): Promise<PairedDecodeResult[]> {
  const { tokens, rounds } = opts;
  if (models.length < 1) throw new Error('pairedDecode: no models');
  if (!Number.isInteger(tokens) || tokens < 1 || !Number.isInteger(rounds) || rounds < 1) throw new Error(`pairedDecode: tokens and rounds must be positive integers (got ${tokens}, ${rounds})`);
  const now = opts.now ?? (() => performance.now());
  const cpuNow = opts.cpuNow ?? processCpuMs;
  const sessions: CausalLmSession[] = [];
  try {
    for (const m of models) sessions.push(causalLm(await createSession(m.model)));
    const wall = models.map(() => [] as number[]);
    const cpu = models.map(() => [] as number[]);
    const decode = async (steps: number, timed: boolean) => {
      const state: { past: PastState; next: number }[] = [];
      for (const lm of sessions) {
        const out = await lm.step([1]);
        state.push({ past: out.present, next: argmax(out.logits, out.vocab) });
      }
      for (let k = 0; k < steps; k++) {
        const order = sessions.map((_, i) => (k % 2 ? sessions.length - 1 - i : i));
        for (const i of order) {
          const s = state[i]!;
          const c0 = cpuNow();
          const t0 = now();
          const out = await sessions[i]!.step([s.next], s.past);
          const dt = now() - t0;
          const dc = cpuNow() - c0;
          if (timed) {
            wall[i]!.push(dt);
            cpu[i]!.push(dc);
          }
          s.past = out.present;
          s.next = argmax(out.logits, out.vocab);
        }
      }
    };
    await decode(opts.warmupTokens ?? 4, false);
    for (let r = 0; r < rounds; r++) await decode(tokens, true);
    // A step whose CPU clock did not advance (coarse clocks) gives no CPU ratio.
    const ratios = (xs: number[][], i: number) => xs[i]!.flatMap((v, k) => (v > 0 ? [xs[0]![k]! / v] : []));
    return models.map((m, i) => {
      const w = median(wall[i]!);
      return {
        label: m.label,
        wallMsPerToken: w,
        cpuMsPerToken: median(cpu[i]!),
        tokPerSec: 1000 / w,
        wallSpeedup: median(ratios(wall, i)),
        cpuSpeedup: median(ratios(cpu, i)),
        steps: wall[i]!.length,
      };
    });
  } finally {
    for (const lm of sessions) await lm.session.release();
  }
}

/**
 * Which of several repeated measurements is the median one (the lower middle for an even
 * count), so a row can report that measurement whole rather than mixing figures of different ones.
 */
export function medianIndex(xs: readonly number[]): number {
  if (!xs.length) throw new Error('medianIndex: empty list');
  const order = xs.map((_, i) => i).sort((a, b) => xs[a]! - xs[b]! || a - b);
  return order[Math.floor((xs.length - 1) / 2)]!;
}
