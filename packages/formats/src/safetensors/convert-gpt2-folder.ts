/**
 * A Hugging Face GPT-2 folder (GPT2LMHeadModel safetensors) into the parts of our model
 * folder: the ONNX model from the GPT-2 builder (float32), its config.json, and the tokenizer
 * files as they came. Checkpoint names with or without the `transformer.` prefix are read; the causal
 * mask buffers some checkpoints carry (attn.bias, attn.masked_bias) are recomputed, and a
 * stored lm_head.weight must equal wte (the head is tied).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildGpt2, gpt2WeightShapes, type Gpt2Weights, type TokenizerConfigTokens } from '@distillery/nn';
import { FormatError } from '../format-error';
import { tokenizerReport } from '../tokenizer-report';
import { readGpt2HfConfig } from './gpt2-hf-config';
import { SafetensorsShards } from './safetensors-shards';
import type { ConvertedModel } from './convert-hf-folder';

const MASK_BUFFER = /(^|\.)attn\.(masked_)?bias$/;

async function optionalText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** The converted GPT-2 model; `json` is the folder's config.json, already read. */
export async function convertGpt2Folder(dir: string, json: Record<string, unknown>): Promise<ConvertedModel> {
  const configFile = path.join(dir, 'config.json');
  const config = readGpt2HfConfig(json, configFile);
  const warnings: string[] = [];
  const shards = await SafetensorsShards.open(dir);
  const weights: Gpt2Weights = new Map();
  const dtypes: Record<string, number> = {};
  try {
    const expected = gpt2WeightShapes(config);
    const stored = new Map(shards.names.map((n) => [n.startsWith('transformer.') ? n : `transformer.${n}`, n]));
    const unknown = [...stored.keys()].filter((n) => !expected.has(n) && !MASK_BUFFER.test(n) && n !== 'transformer.lm_head.weight');
    if (unknown.length > 0) throw new FormatError(shards.fileOf(stored.get(unknown[0]!)!), stored.get(unknown[0]!)!, `is not a weight of a GPT-2 model with this config${unknown.length > 1 ? ` (and ${unknown.length - 1} more)` : ''}`);
    for (const [name, shape] of expected) {
      const source = stored.get(name);
      if (source === undefined) throw new FormatError(shards.readers[0]!.file, name, `missing (config.json describes ${config.nLayers} GPT-2 layers)`);
      const info = shards.info(source);
      if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
        throw new FormatError(shards.fileOf(source), `${source}.shape`, `[${info.shape.join(', ')}] disagrees with config.json, which implies [${shape.join(', ')}]`);
      }
      dtypes[info.dtype] = (dtypes[info.dtype] ?? 0) + 1;
      weights.set(name, await shards.readFloat32(source));
    }
    const head = stored.get('transformer.lm_head.weight');
    if (head !== undefined) {
      const h = await shards.readFloat32(head);
      const wte = weights.get('transformer.wte.weight')!;
      if (h.length !== wte.length || h.some((v, i) => v !== wte[i])) throw new FormatError(shards.fileOf(head), head, 'differs from transformer.wte.weight, but GPT-2 ties its head to the token embedding');
      warnings.push('lm_head.weight is stored as well; it equals wte, the tied head');
    }
  } finally {
    await shards.close();
  }
  const parameters = [...weights.values()].reduce((n, w) => n + w.length, 0);
  const model = buildGpt2(config, weights);
  weights.clear();
  const tokenizerJson = await optionalText(path.join(dir, 'tokenizer.json'));
  const tokenizerConfigJson = await optionalText(path.join(dir, 'tokenizer_config.json'));
  let tokenizerKind: string | null = null;
  if (tokenizerJson === null) warnings.push('no tokenizer.json in the folder: perplexity, tasks and samples will be skipped for this model');
  else {
    const t = tokenizerReport(tokenizerJson, path.join(dir, 'tokenizer.json'), json, tokenizerConfigJson === null ? {} : (JSON.parse(tokenizerConfigJson) as TokenizerConfigTokens), config.vocabSize);
    tokenizerKind = t.kind;
    warnings.push(...t.warnings);
  }
  return {
    model,
    config,
    hfConfig: { ...json, torch_dtype: 'float32' },
    tokenizerJson,
    tokenizerConfigJson,
    report: { format: 'safetensors', architecture: 'gpt2', parameters, dtypes, tokenizerKind, warnings },
  };
}
