/**
 * Our decoder as a Hugging Face folder: config.json (LlamaConfig), the weights in
 * safetensors (one file, or shards with model.safetensors.index.json) in Hugging Face's
 * [out, in] layout, and the tokenizer files when given. Used by tests and the import bench
 * to make folders like the ones people bring.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decoderWeightShapes, toHfConfig, type DecoderConfig, type DecoderWeights, type HfConfigOptions } from '@distillery/nn';
import { hfShapeOf, isHfTransposed, transpose2d } from './hf-linear-layout';
import { INDEX_FILE, SINGLE_FILE } from './safetensors-shards';
import { writeSafetensors, type TensorToWrite, type WritableDtype } from './safetensors-writer';

export interface ExportHfOptions extends HfConfigOptions {
  dtype?: WritableDtype;
  /** Start a new shard when the current one would pass this many bytes; default: one file. */
  maxShardBytes?: number;
  tokenizerJson?: string;
  tokenizerConfigJson?: string;
  /** Extra config.json keys (e.g. model_type 'mistral'). */
  configOverrides?: Record<string, unknown>;
}

export async function exportHfFolder(config: DecoderConfig, weights: DecoderWeights, dir: string, options: ExportHfOptions = {}): Promise<{ files: string[]; bytes: number }> {
  const dtype = options.dtype ?? 'F32';
  await mkdir(dir, { recursive: true });
  const tensors: TensorToWrite[] = [...decoderWeightShapes(config)].map(([name, shape]) => ({ name, dtype, shape: hfShapeOf(name, shape) }));
  const shards: TensorToWrite[][] = [[]];
  let shardBytes = 0;
  const limit = options.maxShardBytes ?? Number.POSITIVE_INFINITY;
  for (const t of tensors) {
    const bytes = t.shape.reduce((n, d) => n * d, 1) * (dtype === 'F32' ? 4 : 2);
    if (shardBytes > 0 && shardBytes + bytes > limit) {
      shards.push([]);
      shardBytes = 0;
    }
    shards[shards.length - 1].push(t);
    shardBytes += bytes;
  }
  const values = (name: string): Float32Array => {
    const w = weights.get(name);
    if (!w) throw new Error(`weight ${name} is missing`);
    const shape = decoderWeightShapes(config).get(name) as number[];
    return isHfTransposed(name) ? transpose2d(w, shape[0], shape[1]) : w;
  };
  const files = shards.length === 1 ? [SINGLE_FILE] : shards.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`);
  let total = 0;
  for (let i = 0; i < shards.length; i++) total += await writeSafetensors(path.join(dir, files[i]), shards[i], values, { format: 'pt' });
  if (shards.length > 1) {
    const weightMap: Record<string, string> = {};
    shards.forEach((shard, i) => shard.forEach((t) => (weightMap[t.name] = files[i])));
    await writeFile(path.join(dir, INDEX_FILE), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + '\n');
  }
  const torchDtype = dtype === 'F32' ? 'float32' : dtype === 'F16' ? 'float16' : 'bfloat16';
  const hf = { ...toHfConfig(config, options), torch_dtype: torchDtype, ...options.configOverrides };
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(hf, null, 2) + '\n');
  if (options.tokenizerJson !== undefined) await writeFile(path.join(dir, 'tokenizer.json'), options.tokenizerJson);
  if (options.tokenizerConfigJson !== undefined) await writeFile(path.join(dir, 'tokenizer_config.json'), options.tokenizerConfigJson);
  return { files: shards.length > 1 ? [...files, INDEX_FILE] : files, bytes: total };
}
