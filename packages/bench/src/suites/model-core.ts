/**
 * model-core: tokenizer training and encoding speed (against @huggingface/tokenizers
 * encoding the same text with the same tokenizer.json, in the same run), and the time
 * to build, serialize and load a 100M-parameter decoder (against ORT loading it).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tokenizer } from '@huggingface/tokenizers';
import { bundledDocuments } from '@distillery/data';
import { buildDecoder, decoderPreset, initDecoderWeights, parameterCount, toTokenizerConfigJson, toTokenizerJson, trainBpe } from '@distillery/nn';
import { writeModel } from '@distillery/onnx';
import type { BenchRow, BenchSuite } from '../suite';

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function tokenizerRows(quick: boolean, log: (m: string) => void): Promise<BenchRow[]> {
  const texts = bundledDocuments().map((d) => d.text);
  const all = texts.join('\n');
  const mb = Buffer.byteLength(all) / 1e6;
  log(`training a 4096-token BPE on ${mb.toFixed(1)} MB`);
  let t = process.hrtime.bigint();
  const tok = trainBpe(texts, { vocabSize: 4096 });
  void tok.vocabSize;
  const trainSeconds = seconds(t);

  // Encoding is timed on a slice in quick mode; the first pass fills the word cache like real use.
  const sample = quick ? all.slice(0, 2_000_000) : all;
  const sampleMb = Buffer.byteLength(sample) / 1e6;
  const fresh = trainBpe(texts, { vocabSize: 4096 });
  t = process.hrtime.bigint();
  const ids = fresh.encode(sample);
  const encodeSeconds = seconds(t);

  const hf = new Tokenizer(toTokenizerJson(tok) as object, toTokenizerConfigJson(tok));
  t = process.hrtime.bigint();
  const hfIds = hf.encode(sample).ids;
  const hfSeconds = seconds(t);
  const same = hfIds.length === ids.length && hfIds.every((v: number, i: number) => v === ids[i]);

  return [
    { name: 'tokenizer-train', vocab: 4096, mb: round(mb), seconds: round(trainSeconds) },
    {
      name: 'tokenizer-encode',
      mb: round(sampleMb),
      mbPerSec: round(sampleMb / encodeSeconds),
      tokensPerSec: Math.round(ids.length / encodeSeconds),
      baselineMbPerSec: round(sampleMb / hfSeconds),
      ratioVsBaseline: round(hfSeconds / encodeSeconds),
      identicalIds: same,
    },
  ];
}

async function buildRows(log: (m: string) => void): Promise<BenchRow[]> {
  const config = decoderPreset('bench-100m');
  const params = parameterCount(config);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'distillery-bench-'));
  try {
    log(`building a ${(params / 1e6).toFixed(1)}M-parameter decoder`);
    let t = process.hrtime.bigint();
    const weights = initDecoderWeights(config, 1);
    const initSeconds = seconds(t);
    t = process.hrtime.bigint();
    const model = buildDecoder(config, weights);
    const buildSeconds = seconds(t);
    const file = path.join(dir, 'model.onnx');
    t = process.hrtime.bigint();
    await writeModel(model, file, { externalData: true });
    const writeSeconds = seconds(t);
    const bytes = (await stat(file)).size + (await stat(`${file}.data`)).size;
    t = process.hrtime.bigint();
    const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const loadSeconds = seconds(t);
    await session.release();
    const ours = initSeconds + buildSeconds + writeSeconds;
    return [
      {
        name: 'build-100M',
        params,
        bytes,
        seconds: round(ours),
        initSeconds: round(initSeconds),
        graphSeconds: round(buildSeconds),
        writeSeconds: round(writeSeconds),
        ortLoadSeconds: round(loadSeconds),
        ratioVsOrtLoad: round(ours / loadSeconds),
      },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

const suite: BenchSuite = {
  name: 'model-core',
  description: 'tokenizer train/encode speed; build + load time of a 100M-parameter decoder',
  async run({ quick, log }) {
    return [...(await tokenizerRows(quick, log)), ...(await buildRows(log))];
  },
};

export default suite;
