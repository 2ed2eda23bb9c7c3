/**
 * The model a fresh machine starts with: the committed reference model (models/ref-base)
 * when it exists, else a small Llama decoder from packages/nn with a BPE tokenizer
 * trained on a slice of the bundled corpora (random weights: its perplexity is near the
 * vocabulary size, but every technique and evaluation runs on it).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { splitBundledCorpora } from '@distillery/data';
import { buildDecoder, decoderPreset, initDecoderWeights, toHfConfig, toTokenizerJson, trainBpe, type DecoderConfig, type DecoderWeights } from '@distillery/nn';
import { inspectModel, serializeModel } from '@distillery/onnx';
import { REPO_ROOT } from '@distillery/services';

export interface DemoModel {
  name: string;
  /** A single ONNX file with its weights inline (uploads carry no side files). */
  onnx: Uint8Array;
  tokenizerJson: string;
  /** Hugging Face config.json contents. */
  hfConfig: Record<string, unknown>;
  parameterCount: number;
  source: string;
}

export const REFERENCE_MODEL_DIR = path.join(REPO_ROOT, 'models', 'ref-base');

export async function loadDemoModel(opts: { preferReference?: boolean } = {}): Promise<DemoModel> {
  if (opts.preferReference !== false && existsSync(path.join(REFERENCE_MODEL_DIR, 'onnx', 'model.onnx'))) {
    const { readModelFolder } = await import('@distillery/reference');
    const folder = await readModelFolder(REFERENCE_MODEL_DIR);
    const eos = folder.tokenizer.endOfTextId;
    return {
      name: 'ref-base',
      onnx: serializeModel(folder.model).model,
      tokenizerJson: JSON.stringify(toTokenizerJson(folder.tokenizer)),
      hfConfig: toHfConfig(folder.config, { bosTokenId: eos, eosTokenId: eos }) as unknown as Record<string, unknown>,
      parameterCount: inspectModel(folder.model).parameterCount,
      source: 'models/ref-base',
    };
  }
  return buildSmallDemoModel();
}

/** The small demo decoder before serialization: its shape, weights and tokenizer (for writers of other formats). */
export interface DemoModelParts {
  config: DecoderConfig;
  weights: DecoderWeights;
  tokenizerJson: string;
  endOfTextId: number;
}

export function buildSmallDemoParts(seed = 1): DemoModelParts {
  const texts = splitBundledCorpora().train.slice(0, 3).map((d) => d.text.slice(0, 20_000));
  const tokenizer = trainBpe(texts, { vocabSize: 384 });
  const config = decoderPreset('tiny', { vocabSize: tokenizer.vocabSize, hiddenSize: 64, headDim: 16, ffnSize: 160, maxPositions: 128 });
  return { config, weights: initDecoderWeights(config, seed, 0.05), tokenizerJson: JSON.stringify(toTokenizerJson(tokenizer)), endOfTextId: tokenizer.endOfTextId };
}

/** A ~50k-parameter decoder over a 384-token vocabulary; a second or two to build. */
export function buildSmallDemoModel(seed = 1): DemoModel {
  const { config, weights, tokenizerJson, endOfTextId: eos } = buildSmallDemoParts(seed);
  const model = buildDecoder(config, weights);
  return {
    name: 'tiny-demo',
    onnx: serializeModel(model).model,
    tokenizerJson,
    hfConfig: toHfConfig(config, { bosTokenId: eos, eosTokenId: eos }) as unknown as Record<string, unknown>,
    parameterCount: inspectModel(model).parameterCount,
    source: 'built by e2e/src/demo-model.ts (random weights)',
  };
}
