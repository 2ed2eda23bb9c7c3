/**
 * quant rows against llama.cpp (node-llama-cpp 3.21.1, prebuilt CPU binaries):
 * - model "large" (bench-100m, random weights, seed 1): our 4-bit MatMulNBits g32 decoder
 *   (LM head 4-bit on its own weight) on ONNX Runtime against the same weights exported as
 *   GGUF Q4_0 (32-weight blocks, fp16 scale) decoded by llama.cpp, batch 1 from a 1-token
 *   prompt, at 1 thread and at one thread per core; rounds interleaved so machine load hits
 *   both alike; the figure is the median per-round ratio ours / llama.cpp. llama.cpp reads
 *   its weights into memory (useMmap false) rather than mapping the file, so that in this
 *   suite's process (malloc on transparent huge pages, huge-pages.ts) both runtimes' weights
 *   sit on the same kind of pages.
 * - model "ref-base": the Q4_0 export's perplexity, by importing the file back (the same
 *   weights llama.cpp runs), on the tokens and window of the other ref-base rows.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { splitBundledCorpora } from '@distillery/data';
import { createSession, measureLatency, median, modelPerplexity } from '@distillery/eval';
import { exportGguf, exportGgufModel, importGguf, openLlamaCpp } from '@distillery/formats';
import { buildDecoder, decoderPreset, decoderWeightsFromModel, initDecoderWeights, toTokenizerJson } from '@distillery/nn';
import { MODEL_FILE, readModelFolder, referenceModelDir } from '@distillery/reference';
import { quietContext, registry } from '@distillery/techniques';
import type { BenchRow } from '../suite';

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

async function speedRows(tmp: string, quick: boolean, log: (m: string) => void): Promise<BenchRow[]> {
  const config = decoderPreset('bench-100m');
  log('llama.cpp: building bench-100m (random weights) and its GGUF Q4_0 export...');
  const fp32 = buildDecoder(config, initDecoderWeights(config, 1, 0.02));
  const rtn = registry.get('quantize.rtn');
  const ours = (await rtn.apply(fp32, rtn.params.parse({ bits: 4, groupSize: 32, format: 'matmulnbits', tiedHead: true }), quietContext({}))).model;
  const ref = await readModelFolder(referenceModelDir());
  const file = path.join(tmp, 'bench-100m-q4_0.gguf');
  const exported = await exportGgufModel({ model: fp32, tokenizerJson: toTokenizerJson(ref.tokenizer) as unknown as Record<string, unknown>, name: 'bench-100m' }, file, 'q4_0');
  const cores = os.availableParallelism();
  const tokens = quick ? 32 : 128;
  const rounds = quick ? 3 : 5;
  const rows: BenchRow[] = [];
  // --quick: 1 thread shows the ratio at the same thread count; all cores in the full run
  // (on a shared machine llama.cpp's spinning threads starve there: 0.6-0.8 tok/s, 150 s of a run).
  for (const threads of quick ? [1] : [...new Set([1, cores])]) {
    const session = await createSession(ours, threads);
    const llama = await openLlamaCpp(file, { threads, contextSize: tokens + 8, useMmap: false });
    const oursSpeed: number[] = [];
    const theirs: number[] = [];
    try {
      // Untimed warm-up of both.
      await measureLatency(session, { promptLength: 1, decodeTokens: 4, warmup: 0, repeats: 1 });
      await llama.greedy([1], 5);
      for (let r = 0; r < rounds; r++) {
        oursSpeed.push((await measureLatency(session, { promptLength: 1, decodeTokens: tokens, warmup: 0, repeats: 1 })).decodeTokensPerSecond);
        const g = await llama.greedy([1], tokens + 1);
        theirs.push((g.tokens.length - 1) / g.decodeSeconds);
        log(`llama.cpp ${threads} thread(s) round ${r + 1}/${rounds}: ours ${oursSpeed[r]!.toFixed(1)} tok/s, llama.cpp Q4_0 ${theirs[r]!.toFixed(1)} tok/s`);
      }
    } finally {
      await session.release();
      await llama.dispose();
    }
    rows.push({
      model: 'large',
      method: `rtn 4-bit nbits g32, tiedHead (ORT) vs llama.cpp GGUF Q4_0, ${threads} thread${threads > 1 ? 's' : ''}`,
      bits: 4,
      group: 32,
      bytes: exported.bytes,
      ppl: null,
      decodeTokPerSec: round(median(oursSpeed), 1),
      llamaCppTokPerSec: round(median(theirs), 1),
      speedVsLlamaCpp: round(median(oursSpeed.map((v, i) => v / theirs[i]!)), 3),
      threads,
    });
  }
  return rows;
}

async function perplexityRow(tmp: string, quick: boolean, log: (m: string) => void): Promise<BenchRow | null> {
  const dir = referenceModelDir();
  if (!existsSync(path.join(dir, MODEL_FILE))) return null;
  const folder = await readModelFolder(dir);
  const split = splitBundledCorpora();
  const test = folder.tokenizer.encodeDocuments(split.test.map((d) => d.text)).subarray(0, quick ? 4096 : 32_768);
  const file = path.join(tmp, 'ref-base-q4_0.gguf');
  const exported = await exportGguf(dir, file, 'q4_0');
  const back = path.join(tmp, 'ref-base-q4_0');
  await importGguf(file, back);
  const { model } = await readModelFolder(back);
  const { config, weights } = decoderWeightsFromModel(folder.model);
  const fp32 = buildDecoder(config, weights);
  const ppl = (await modelPerplexity(model, test, { window: 256, stride: 128 })).perplexity;
  const fpPpl = (await modelPerplexity(fp32, test, { window: 256, stride: 128 })).perplexity;
  log(`ref-base GGUF Q4_0 (imported back): ppl ${ppl.toFixed(3)} vs fp32 ${fpPpl.toFixed(3)}; ${exported.warnings.length} warnings (${exported.tensorTypes.F16 ?? 0} tensors F16)`);
  return {
    model: 'ref-base',
    method: 'GGUF Q4_0 (llama.cpp blocks, imported back)',
    bits: 4,
    group: 32,
    bitsPerWeight: null,
    bytes: exported.bytes,
    ppl: round(ppl, 3),
    pplVsFp32: round(ppl / fpPpl, 4),
    ggufTensorTypes: Object.entries(exported.tensorTypes).map(([k, v]) => `${v} ${k}`).join(', '),
  };
}

export async function llamaCppRows(quick: boolean, log: (m: string) => void): Promise<BenchRow[]> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'bench-llamacpp-'));
  try {
    const ppl = await perplexityRow(tmp, quick, log);
    return [...(ppl ? [ppl] : []), ...(await speedRows(tmp, quick, log))];
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
