/**
 * A Hugging Face folder of safetensors (Llama family) into our decoder's config and weights:
 * config.json gives the shape and every tensor is checked against it before any is read;
 * each weight then reads one tensor at a time, widened to float32 (or as float16 bits) and
 * laid out as our builder expects.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decoderWeightShapes, type DecoderConfig, type DecoderWeights } from '@distillery/nn';
import { FormatError } from '../format-error';
import { readHfConfig } from './hf-config';
import { hfShapeOf, isHfTransposed, transpose2d } from './hf-linear-layout';
import { SafetensorsShards } from './safetensors-shards';
import type { SafetensorsWeight } from './weight-sources';

/** A checked folder whose weights are read on demand. */
export interface HfFolderPlan {
  readonly config: DecoderConfig;
  /** In our builder's order (embedding, layers, norm, head). */
  readonly weights: readonly SafetensorsWeight[];
  readonly architecture: string;
  /** Tensors, by safetensors dtype. */
  readonly dtypes: Record<string, number>;
  readonly parameters: number;
  readonly warnings: string[];
  /** Bytes of tensor data in the safetensors files. */
  readonly tensorBytes: number;
}

export interface HfFolderImport {
  readonly config: DecoderConfig;
  readonly weights: DecoderWeights;
  readonly architecture: string;
  /** Tensors read, by safetensors dtype. */
  readonly dtypes: Record<string, number>;
  readonly parameters: number;
  readonly warnings: string[];
  /** Bytes of tensor data in the safetensors files. */
  readonly tensorBytes: number;
}

/** Tensors that some checkpoints carry and that the network recomputes (RoPE frequencies). */
const DERIVED = /\.rotary_emb\.inv_freq$/;

export interface ImportHfOptions {
  /** Called after each tensor with the fraction done. */
  onProgress?: (fraction: number, tensor: string) => void;
}

export async function planHfFolder(dir: string): Promise<HfFolderPlan> {
  const configFile = path.join(dir, 'config.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(configFile, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FormatError(configFile, '(file)', code === 'ENOENT' ? 'missing: a safetensors folder needs its config.json for the model shape' : `not valid JSON (${(error as Error).message})`);
  }
  const { config, architecture, warnings } = readHfConfig(json, configFile);
  const shards = await SafetensorsShards.open(dir);
  const expected = decoderWeightShapes(config);
  const names = new Set(shards.names);
  if (config.tieEmbeddings && names.has('lm_head.weight')) {
    warnings.push('config.json ties the embeddings (tie_word_embeddings) but lm_head.weight is stored too; the embedding is used as the head, as transformers does');
    names.delete('lm_head.weight');
  }
  if (!config.tieEmbeddings && !names.has('lm_head.weight')) {
    throw new FormatError(configFile, 'tie_word_embeddings', 'is false but no shard holds lm_head.weight');
  }
  const ignored = [...names].filter((name) => !expected.has(name) && DERIVED.test(name));
  const unknown = [...names].filter((name) => !expected.has(name) && !DERIVED.test(name));
  if (unknown.length > 0) {
    const file = shards.fileOf(unknown[0]);
    throw new FormatError(file, unknown[0], `is not a weight of a ${architecture} decoder with this config${unknown.length > 1 ? ` (and ${unknown.length - 1} more unknown tensors)` : ''}`);
  }
  if (ignored.length > 0) warnings.push(`${ignored.length} stored rotary_emb.inv_freq tensors ignored (recomputed from rope_theta)`);

  for (const [name, ours] of expected) {
    if (!shards.has(name)) throw new FormatError(shards.readers[0].file, name, `missing (config.json describes ${config.nLayers} layers of a ${architecture} decoder)`);
    const info = shards.info(name);
    const want = hfShapeOf(name, ours);
    if (info.shape.length !== want.length || info.shape.some((d, i) => d !== want[i])) {
      throw new FormatError(shards.fileOf(name), `${name}.shape`, `[${info.shape.join(', ')}] disagrees with config.json, which implies [${want.join(', ')}]`);
    }
  }
  const dtypes: Record<string, number> = {};
  for (const name of expected.keys()) dtypes[shards.info(name).dtype] = (dtypes[shards.info(name).dtype] ?? 0) + 1;
  const parameters = [...expected.values()].reduce((n, shape) => n + shape.reduce((m, d) => m * d, 1), 0);
  const weights = [...expected].map(([name, dims]): SafetensorsWeight => {
    const want = hfShapeOf(name, dims);
    const transposed = isHfTransposed(name);
    return {
      name,
      dims,
      dtype: shards.info(name).dtype,
      readHalf: async () => {
        const bits = await shards.readFloat16Bits(name);
        return transposed ? transpose2d(bits, want[0]!, want[1]!) : bits;
      },
      readFloat: async () => {
        const values = await shards.readFloat32(name);
        return transposed ? transpose2d(values, want[0]!, want[1]!) : values;
      },
    };
  });
  return { config, weights, architecture, dtypes, parameters, warnings, tensorBytes: shards.tensorBytes };
}

/** The folder's weights read as float32, one tensor at a time. */
export async function importHfFolder(dir: string, options: ImportHfOptions = {}): Promise<HfFolderImport> {
  const plan = await planHfFolder(dir);
  const weights: DecoderWeights = new Map();
  for (const w of plan.weights) {
    weights.set(w.name, await w.readFloat());
    options.onProgress?.(weights.size / plan.weights.length, w.name);
  }
  return { ...plan, weights };
}
