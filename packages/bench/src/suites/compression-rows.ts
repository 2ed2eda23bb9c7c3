/**
 * What the prune, lowrank and share suites share: models/ref-base with its tokenizer, the
 * bundled test split (scored with disjoint windows) and calibration windows from the train
 * split, and one row per model in the shape
 * {model, method, target, params, bytesDense, bytesStored, ppl, klVsBase, top1Agreement,
 * decodeTokPerSec}; klVsBase (mean KL(ref-base || model), nats/token) and top1Agreement
 * come from packages/eval's calibrationBase and klOnCalibration, on the first 1,024 test
 * tokens (4,096 in full runs) cut into disjoint 256-token windows, each scored whole
 * (every position that predicts a token of its window). ref-base is scored once per suite.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { sampleSequences, splitBundledCorpora } from '@distillery/data';
import { calibrationBase, createSession, klOnCalibration, measureLatency, modelPerplexity, weightCensus, type CalibrationBase } from '@distillery/eval';
import type { BpeTokenizer } from '@distillery/nn';
import { inspectModel, type Model } from '@distillery/onnx';
import { MODEL_FILE, readModelFolder, referenceModelDir } from '@distillery/reference';
import { quietContext, type TechniqueContext, type TechniqueReport } from '@distillery/techniques';
import type { BenchRow } from '../suite';

export interface RefBench {
  model: Model;
  tokenizer: BpeTokenizer;
  train: Int32Array;
  test: Int32Array;
  window: number;
  calibration: Int32Array[];
  /** Disjoint windows of the first test tokens, on which every row's KL and top-1 agreement are measured. */
  divergenceWindows: Int32Array[];
  /** ref-base scored once on divergenceWindows: the reference of every row's KL and top-1 agreement. */
  divergenceBase: CalibrationBase;
}

/** `tokens` cut into disjoint windows of `window` tokens (a shorter tail is dropped). */
export function disjointWindows(tokens: Int32Array, window: number): Int32Array[] {
  const n = Math.floor(tokens.length / window);
  if (n === 0) throw new Error(`${tokens.length} tokens hold no window of ${window}`);
  return Array.from({ length: n }, (_, i) => tokens.subarray(i * window, (i + 1) * window));
}

/** ref-base and its bench data; `make` turns it into the model the rows measure instead (its divergence base too). */
export async function loadRefBase(quick: boolean, log: (m: string) => void, make?: (refBase: Model) => Model): Promise<RefBench> {
  const dir = referenceModelDir();
  if (!existsSync(path.join(dir, MODEL_FILE))) throw new Error(`models/ref-base is missing at ${dir}: run npm run train:reference first`);
  const folder = await readModelFolder(dir);
  const split = splitBundledCorpora();
  const train = folder.tokenizer.encodeDocuments(split.train.map((d) => d.text));
  const allTest = folder.tokenizer.encodeDocuments(split.test.map((d) => d.text));
  const test = allTest.subarray(0, Math.min(allTest.length, quick ? 16_384 : 65_536));
  // 64 x 256 calibration tokens (SparseGPT and Wanda use 128 x 2048 at LLM scale): with 16 x 128,
  // SparseGPT at 50% lost 0.77 of magnitude's perplexity increase on ref-base, with 64 x 256 0.48.
  const calibration = sampleSequences(train, 64, 256, 1);
  log(`ref-base: ${train.length} train tokens, ${test.length} test tokens, ${calibration.length} calibration windows`);
  const window = 256;
  const divergenceWindows = disjointWindows(test.subarray(0, quick ? 1024 : 4096), window);
  const model = make ? make(folder.model) : folder.model;
  const divergenceBase = await calibrationBase(model, divergenceWindows);
  return { model, tokenizer: folder.tokenizer, train, test, window, calibration, divergenceWindows, divergenceBase };
}

export function benchContext(b: RefBench, log: (m: string) => void, extra: Partial<TechniqueContext> = {}): TechniqueContext {
  return quietContext({
    calibration: { sequences: b.calibration },
    trainingTokens: b.train,
    log: { info: () => {}, warn: (m) => log(`warn: ${m}`) },
    ...extra,
  });
}

export const round = (v: number, digits = 3): number => Math.round(v * 10 ** digits) / 10 ** digits;

/** Greedy decode after a 1-token prompt: wall tokens/s and process CPU ms per token (medians over the steps). */
export async function decodeSpeed(model: Model, quick: boolean): Promise<{ tokPerSec: number; cpuMsPerToken: number }> {
  const session = await createSession(model);
  try {
    const r = await measureLatency(session, { promptLength: 1, decodeTokens: quick ? 32 : 128, warmup: 1, repeats: quick ? 2 : 3 });
    return { tokPerSec: round(r.decodeTokensPerSecond, 1), cpuMsPerToken: r.decodeCpuMsPerToken };
  } finally {
    await session.release();
  }
}

export async function decodeTokPerSec(model: Model, quick: boolean): Promise<number> {
  return (await decodeSpeed(model, quick)).tokPerSec;
}

export interface RowInput {
  model: string;
  method: string;
  target: string;
  compressed: Model;
  report?: TechniqueReport;
  /** Bytes of the same model with every weight dense (lowrank/share: the base model's); default: as stored. */
  denseBytes?: number;
  extra?: BenchRow;
}

/**
 * One row: learned weights by the weight census (RoPE tables and shape constants left out;
 * a sparse model's nonzero count is in bytesStored), test perplexity, decode speed.
 */
export async function compressionRow(b: RefBench, r: RowInput, quick: boolean): Promise<BenchRow> {
  const inspection = inspectModel(r.compressed);
  const num = (k: string) => (typeof r.report?.[k] === 'number' ? (r.report[k] as number) : undefined);
  // Weights the technique did not touch count at their stored size in both columns.
  const untouched = inspection.totalBytes - (num('weightBytesAfter') ?? 0);
  const bytesDense = num('bytesDense') !== undefined ? untouched + num('bytesDense')! : (r.denseBytes ?? inspection.totalBytes);
  const bytesStored = num('bytesStored') !== undefined ? untouched + num('bytesStored')! : inspection.totalBytes;
  const ppl = (await modelPerplexity(r.compressed, b.test, { window: b.window })).perplexity;
  const div = await klOnCalibration(b.divergenceBase, r.compressed, b.divergenceWindows);
  return {
    model: r.model,
    method: r.method,
    target: r.target,
    params: weightCensus(r.compressed).weightParameters,
    bytesDense,
    bytesStored,
    ppl: round(ppl, 2),
    klVsBase: round(div.kl, 5),
    top1Agreement: round(div.top1, 4),
    decodeTokPerSec: await decodeTokPerSec(r.compressed, quick),
    ...r.extra,
  };
}

/** The dense reference row every compression suite starts with. */
export async function denseRow(b: RefBench, quick: boolean, log: (m: string) => void, label = 'ref-base'): Promise<BenchRow> {
  const row = await compressionRow(b, { model: label, method: 'dense', target: '-', compressed: b.model }, quick);
  log(`dense: ppl ${row.ppl}`);
  return row;
}
