/**
 * A Hugging Face GPT-2 folder (GPT2LMHeadModel safetensors) into the parts of our model
 * folder: the ONNX model from the GPT-2 builder (stored as the Llama path stores it: float16
 * when every weight is 16-bit, else float32; weights read as it is written), its config.json,
 * and the tokenizer files as they came. Checkpoint names with or without the `transformer.` prefix are read; the causal
 * mask buffers some checkpoints carry (attn.bias, attn.masked_bias) are recomputed, and a
 * stored lm_head.weight must equal wte (the head is tied).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildGpt2, gpt2WeightShapes, type TokenizerConfigTokens } from '@distillery/nn';
import { FormatError } from '../format-error';
import { tokenizerReport } from '../tokenizer-report';
import { readGpt2HfConfig } from './gpt2-hf-config';
import { SafetensorsShards } from './safetensors-shards';
import type { ConvertedModel } from './convert-hf-folder';
import type { ImportHfOptions } from './import-hf-folder';
import { weightSources, type SafetensorsWeight } from './weight-sources';

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
export async function convertGpt2Folder(dir: string, json: Record<string, unknown>, options: ImportHfOptions = {}): Promise<ConvertedModel> {
  const configFile = path.join(dir, 'config.json');
  const config = readGpt2HfConfig(json, configFile);
  const warnings: string[] = [];
  const shards = await SafetensorsShards.open(dir);
  const dtypes: Record<string, number> = {};
  const expected = gpt2WeightShapes(config);
  const stored = new Map(shards.names.map((n) => [n.startsWith('transformer.') ? n : `transformer.${n}`, n]));
  const unknown = [...stored.keys()].filter((n) => !expected.has(n) && !MASK_BUFFER.test(n) && n !== 'transformer.lm_head.weight');
  if (unknown.length > 0) throw new FormatError(shards.fileOf(stored.get(unknown[0]!)!), stored.get(unknown[0]!)!, `is not a weight of a GPT-2 model with this config${unknown.length > 1 ? ` (and ${unknown.length - 1} more)` : ''}`);
  const weights: SafetensorsWeight[] = [];
  for (const [name, shape] of expected) {
    const source = stored.get(name);
    if (source === undefined) throw new FormatError(shards.readers[0]!.file, name, `missing (config.json describes ${config.nLayers} GPT-2 layers)`);
    const info = shards.info(source);
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      throw new FormatError(shards.fileOf(source), `${source}.shape`, `[${info.shape.join(', ')}] disagrees with config.json, which implies [${shape.join(', ')}]`);
    }
    dtypes[info.dtype] = (dtypes[info.dtype] ?? 0) + 1;
    // GPT-2's Conv1D weights are stored [in, out], as our builder multiplies.
    weights.push({ name, dims: shape, dtype: info.dtype, readHalf: () => shards.readFloat16Bits(source), readFloat: () => shards.readFloat32(source) });
  }
  const head = stored.get('transformer.lm_head.weight');
  if (head !== undefined) {
    const wteName = stored.get('transformer.wte.weight')!;
    // Same dtype: compare the stored bytes (half the memory of widening both to float32).
    const same = shards.info(head).dtype === shards.info(wteName).dtype;
    const h = same ? await shards.readBytes(head) : await shards.readFloat32(head);
    const wte = same ? await shards.readBytes(wteName) : await shards.readFloat32(wteName);
    if (h.length !== wte.length || h.some((v, i) => v !== wte[i])) throw new FormatError(shards.fileOf(head), head, 'differs from transformer.wte.weight, but GPT-2 ties its head to the token embedding');
    warnings.push('lm_head.weight is stored as well; it equals wte, the tied head');
  }
  const parameters = [...expected.values()].reduce((n, shape) => n + shape.reduce((m, d) => m * d, 1), 0);
  const { sources, weightDtype } = await weightSources(weights, warnings, options.onProgress);
  const model = buildGpt2(config, new Map(), { sources });
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
    onnx: { model, sources },
    config,
    weightDtype,
    hfConfig: { ...json, torch_dtype: weightDtype },
    tokenizerJson,
    tokenizerConfigJson,
    report: { format: 'safetensors', architecture: 'gpt2', parameters, dtypes, tokenizerKind, warnings },
  };
}
