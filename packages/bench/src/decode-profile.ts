/**
 * Where a decode step's time goes: ONNX Runtime's own profiler (enableProfiling) over a
 * greedy decode with the KV cache, summed per operator type, next to the wall time of
 * session.run and of the whole step as JavaScript sees it (feeds, the cache handed back
 * as inputs, reading the outputs). Per decoded token, in milliseconds.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { measureLatency } from '@distillery/eval';

export interface DecodeProfile {
  /** Wall time per token of the whole step (measureLatency). */
  stepMs: number;
  /** ORT's model_run time per token (mean over the decode runs). */
  runMs: number;
  /** Kernel time per token by operator type, largest first. */
  kernels: { op: string; ms: number }[];
}

interface TraceEvent {
  cat?: string;
  name?: string;
  dur?: number;
  args?: { op_name?: string };
}

export async function profileDecode(modelBytes: Uint8Array, tokens: number): Promise<DecodeProfile> {
  const dir = await mkdtemp(path.join(tmpdir(), 'decode-profile-'));
  try {
    const session = await ort.InferenceSession.create(modelBytes, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      enableProfiling: true,
      profileFilePrefix: path.join(dir, 'ort'),
    });
    let stepMs: number;
    try {
      stepMs = (await measureLatency(session, { promptLength: 1, decodeTokens: tokens, warmup: 0, repeats: 1 })).decodeMsPerToken;
      session.endProfiling();
    } finally {
      await session.release();
    }
    const file = (await readdir(dir)).find((f) => f.endsWith('.json'));
    if (!file) throw new Error('profileDecode: onnxruntime wrote no profile');
    const events = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as TraceEvent[];
    // measureLatency runs one untimed forward, the prompt, then `tokens` steps: attribute only the decode runs.
    const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
    const decodeRuns = runs.slice(-tokens);
    const firstDecode = runs.length - tokens;
    const byOp = new Map<string, number>();
    let runIndex = -1;
    for (const e of events) {
      if (e.cat === 'Session' && e.name === 'model_run') runIndex++;
      // Kernel events are logged before their model_run event closes: they belong to run runIndex + 1.
      if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || runIndex + 1 < firstDecode) continue;
      const op = e.args?.op_name ?? 'unknown';
      byOp.set(op, (byOp.get(op) ?? 0) + (e.dur ?? 0));
    }
    const runMs = decodeRuns.reduce((s, e) => s + (e.dur ?? 0), 0) / 1000 / tokens;
    const kernels = [...byOp].map(([op, us]) => ({ op, ms: us / 1000 / tokens })).sort((a, b) => b.ms - a.ms);
    return { stepMs, runMs, kernels };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
