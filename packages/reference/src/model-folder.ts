/**
 * A model folder as Distillery writes it and transformers.js reads it:
 * `onnx/model.onnx`, `config.json` (Hugging Face LlamaConfig), `tokenizer.json`,
 * `tokenizer_config.json`, plus `training.json` saying how the weights were made.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  buildDecoder,
  fromTokenizerJson,
  toHfConfig,
  toTokenizerConfigJson,
  toTokenizerJson,
  type BpeTokenizer,
  type DecoderConfig,
  type DecoderWeights,
} from '@distillery/nn';
import { readModel, writeModel, type Model } from '@distillery/onnx';
import { readDecoderConfig } from '@distillery/nn';

export const MODEL_FILE = path.join('onnx', 'model.onnx');

export interface ModelFolder {
  dir: string;
  model: Model;
  config: DecoderConfig;
  tokenizer: BpeTokenizer;
  training: Record<string, unknown> | undefined;
}

export async function writeModelFolder(
  dir: string,
  input: { config: DecoderConfig; weights: DecoderWeights; tokenizer: BpeTokenizer; weightDtype: 'float32' | 'float16'; training?: unknown },
): Promise<string> {
  await mkdir(path.join(dir, 'onnx'), { recursive: true });
  const model = buildDecoder(input.config, input.weights, { weightDtype: input.weightDtype });
  await writeModel(model, path.join(dir, MODEL_FILE));
  const eos = input.tokenizer.endOfTextId;
  const hf = toHfConfig(input.config, { bosTokenId: eos, eosTokenId: eos, torchDtype: input.weightDtype });
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(hf, null, 2) + '\n');
  await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(toTokenizerJson(input.tokenizer)) + '\n');
  await writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify(toTokenizerConfigJson(input.tokenizer), null, 2) + '\n');
  if (input.training !== undefined) await writeFile(path.join(dir, 'training.json'), JSON.stringify(input.training, null, 2) + '\n');
  return path.join(dir, MODEL_FILE);
}

export async function readModelFolder(dir: string): Promise<ModelFolder> {
  const model = await readModel(path.join(dir, MODEL_FILE));
  const config = readDecoderConfig(model);
  if (!config) throw new Error(`${path.join(dir, MODEL_FILE)} carries no decoder config in its metadata`);
  const tokenizer = fromTokenizerJson(JSON.parse(await readFile(path.join(dir, 'tokenizer.json'), 'utf8')));
  let training: Record<string, unknown> | undefined;
  try {
    training = JSON.parse(await readFile(path.join(dir, 'training.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    training = undefined;
  }
  return { dir, model, config, tokenizer, training };
}
