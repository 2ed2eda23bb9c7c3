/**
 * eval: evaluation throughput against raw ONNX Runtime on the same model, measured in the
 * same run. Raw = the best forward throughput of the plain model over the same disjoint
 * windows (logits fetched, B windows per call, every core: one session with one thread
 * per core, or one one-thread session per core in worker threads). Eval = our perplexity
 * pass (scoring graph, every token scored) in the faster of the same two layouts; KL =
 * the divergence pass running the base and the compared model on every batch (the
 * uncached case; a sweep reads the base from its cache instead).
 *
 *   ratio = evalTokPerSec / rawTokPerSec   (target >= 0.8)
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { splitBundledCorpora } from '@distillery/data';
import { buildDecoder, decoderPreset, fromTokenizerJson, initDecoderWeights, parameterCount } from '@distillery/nn';
import { serializeModel } from '@distillery/onnx';
import type { BenchRow, BenchSuite } from '../suite';
import { runInThreads, runShare, type Mode, type ShareJob } from './eval-throughput';

const ROOT = path.resolve(import.meta.dirname, '../../../..');
const WINDOW = 256;

interface Subject {
  name: string;
  params: number;
  model: Uint8Array;
  /** A second model of the same shape (other weights) to compare with, for the KL row. */
  other: Uint8Array;
  tokens: Int32Array;
}

async function refBase(windows: number): Promise<Subject> {
  const dir = path.join(ROOT, 'models/ref-base');
  const model = new Uint8Array(await readFile(path.join(dir, 'onnx/model.onnx')));
  const tokenizer = fromTokenizerJson(JSON.parse(await readFile(path.join(dir, 'tokenizer.json'), 'utf8')));
  const tokens = tokenizer.encodeDocuments(splitBundledCorpora().test.map((d) => d.text)).slice(0, windows * WINDOW);
  const c = decoderPreset('ref-5m', { maxPositions: 256 });
  // The KL partner: same shape, other weights (what a compressed model would be).
  const other = serializeModel(buildDecoder(c, initDecoderWeights(c, 2), { weightDtype: 'float16' })).model;
  return { name: 'ref-base', params: parameterCount(c), model, other, tokens };
}

function bench100m(windows: number): Subject {
  const c = decoderPreset('bench-100m', { maxPositions: WINDOW });
  const build = (seed: number) => serializeModel(buildDecoder(c, initDecoderWeights(c, seed))).model;
  // Random ids over the whole vocabulary: speed does not depend on what the tokens say.
  let s = 12345;
  const tokens = Int32Array.from({ length: windows * WINDOW }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % c.vocabSize;
  });
  return { name: 'bench-100m', params: parameterCount(c), model: build(1), other: build(2), tokens };
}

interface Measured {
  mode: Mode;
  layout: string;
  batch: number;
  tokPerSec: number;
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function measure(subject: Subject, mode: Mode, batch: number, layout: 'session' | 'threads', cores: number): Promise<Measured> {
  const tokens = subject.tokens.length - (subject.tokens.length % WINDOW);
  const job: ShareJob = {
    mode,
    model: mode === 'kl' ? subject.other : subject.model,
    base: mode === 'kl' ? subject.model : undefined,
    tokens: subject.tokens.subarray(0, tokens),
    window: WINDOW,
    batch,
    threads: layout === 'session' ? cores : 1,
  };
  const seconds = layout === 'session' ? await runShare(job) : await runInThreads(job, cores);
  const label = layout === 'session' ? `1 session x ${cores} ORT threads` : `${cores} threads x 1-thread session`;
  return { mode, layout: label, batch, tokPerSec: tokens / seconds };
}

const suite: BenchSuite = {
  name: 'eval',
  description: 'evaluation (perplexity, KL) tokens/s vs raw ORT forward of the same model, same windows, all cores',
  async run({ quick, log }) {
    const cores = availableParallelism();
    const batches = quick ? [8] : [1, 8];
    // Rounds repeat every measurement, alternating raw and eval, so a burst of load from
    // elsewhere on a shared machine hits both; each mode keeps its best round.
    const rounds = quick ? 1 : 2;
    const subjects = [await refBase(quick ? 16 : 64), bench100m(quick ? 4 : 12)];
    const rows: BenchRow[] = [];
    for (const subject of subjects) {
      const all: Measured[] = [];
      // Interleaved per layout and batch so load from elsewhere hits raw and eval alike.
      for (let round = 0; round < rounds; round++) {
        for (const layout of ['session', 'threads'] as const) {
          for (const batch of batches) {
            for (const mode of ['raw', 'eval', 'kl'] as const) {
              const m = await measure(subject, mode, batch, layout, cores);
              log(`${subject.name}: ${mode} ${m.layout}, batch ${batch}: ${Math.round(m.tokPerSec)} tokens/s`);
              all.push(m);
              rows.push({ model: subject.name, kind: 'detail', mode, layout: m.layout, batch, round, tokPerSec: Math.round(m.tokPerSec) });
            }
          }
        }
      }
      const best = (mode: Mode) => all.filter((m) => m.mode === mode).reduce((a, b) => (b.tokPerSec > a.tokPerSec ? b : a));
      const raw = best('raw');
      for (const mode of ['eval', 'kl'] as const) {
        const e = best(mode);
        rows.push({
          model: subject.name,
          kind: mode === 'eval' ? 'perplexity' : 'kl',
          params: subject.params,
          window: WINDOW,
          tokens: subject.tokens.length,
          evalTokPerSec: Math.round(e.tokPerSec),
          evalLayout: `${e.layout}, batch ${e.batch}`,
          rawTokPerSec: Math.round(raw.tokPerSec),
          rawLayout: `${raw.layout}, batch ${raw.batch}`,
          ratio: round(e.tokPerSec / raw.tokPerSec, 2),
        });
        log(`${subject.name} ${mode}: ${Math.round(e.tokPerSec)} vs raw ${Math.round(raw.tokPerSec)} tokens/s: ratio ${round(e.tokPerSec / raw.tokPerSec, 2)}${mode === 'eval' ? ' (target >= 0.8)' : ''}`);
      }
    }
    return rows;
  },
};

export default suite;
