/**
 * A Hugging Face folder of safetensors (Llama family) into our decoder's config and weights,
 * one tensor at a time: config.json gives the shape, each tensor is checked against it,
 * widened to float32 and laid out as our builder expects.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decoderWeightShapes, type DecoderConfig, type DecoderWeights } from '@distillery/nn';
import { FormatError } from '../format-error';
import { readHfConfig } from './hf-config';
import { hfShapeOf, isHfTransposed, transpose2d } from './hf-linear-layout';
import { HalfRangeError } from './safetensors-reader';
import { SafetensorsShards } from './safetensors-shards';
import { float16ArrayToFloat32 } from '@distillery/onnx';

export interface HfFolderImport {
  readonly config: DecoderConfig;
  readonly weights: DecoderWeights;
  /**
   * When every weight is stored in 16 bits (F16, or BF16 within float16's range) and
   * `keepHalf` was asked for: all weights as float16 bits, and `weights` is empty.
   */
  readonly halfWeights: Map<string, Uint16Array>;
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
  /** Keep 16-bit weights as float16 bits (half the memory of float32) when all of them are 16-bit. */
  keepHalf?: boolean;
}

export async function importHfFolder(dir: string, options: ImportHfOptions = {}): Promise<HfFolderImport> {
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
  try {
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
    let half = options.keepHalf === true && Object.keys(dtypes).every((d) => d === 'F16' || d === 'BF16');
    const weights: DecoderWeights = new Map();
    const halfWeights = new Map<string, Uint16Array>();
    const parameters = [...expected.values()].reduce((n, shape) => n + shape.reduce((m, d) => m * d, 1), 0);
    let done = 0;
    for (const [name, ours] of expected) {
      const want = hfShapeOf(name, ours);
      const transposed = isHfTransposed(name);
      if (half) {
        try {
          const bits = await shards.readFloat16Bits(name);
          halfWeights.set(name, transposed ? transpose2d(bits, want[0], want[1]) : bits);
          options.onProgress?.(++done / expected.size, name);
          continue;
        } catch (error) {
          if (!(error instanceof HalfRangeError)) throw error;
          // A bfloat16 weight float16 cannot hold: the rest (and what was read) goes to float32.
          warnings.push(`${error.field} holds ${error.value}, beyond float16's range, so the model is kept in float32`);
          for (const [done16, bits] of halfWeights) weights.set(done16, float16ArrayToFloat32(bits));
          halfWeights.clear();
          half = false;
        }
      }
      const read = await shards.readFloat32(name);
      const values = transposed ? transpose2d(read, want[0], want[1]) : read;
      weights.set(name, values);
      options.onProgress?.(++done / expected.size, name);
    }
    return { config, weights, halfWeights, architecture, dtypes, parameters, warnings, tensorBytes: shards.tensorBytes };
  } finally {
    await shards.close();
  }
}
