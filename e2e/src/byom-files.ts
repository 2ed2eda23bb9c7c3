/**
 * The files a team brings, written by our own writers (packages/formats) from the small
 * demo decoder: a Hugging Face folder (config.json, model.safetensors, tokenizer.json), the
 * same folder sharded (model.safetensors.index.json and its shards) and a Q8_0 GGUF file with
 * its vocabulary inside. All hold the same weights.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { exportGgufModel, exportHfFolder, INDEX_FILE } from '@distillery/formats';
import { buildDecoder } from '@distillery/nn';
import { inspectModel } from '@distillery/onnx';
import { buildSmallDemoParts } from './demo-model';

export interface ByomFiles {
  safetensors: { config: Buffer; model: Buffer; tokenizer: Buffer };
  /** The same folder in several shards: the index and each shard by its file name. */
  sharded: { index: Buffer; shards: { name: string; bytes: Buffer }[] };
  gguf: Buffer;
  /** Values in the weight tensors of the files (what an import report counts). */
  weightCount: number;
  /** Parameters of the built ONNX model, as the platform records them (the rotary tables included). */
  parameterCount: number;
}

export async function writeByomFiles(dir: string, seed = 5): Promise<ByomFiles> {
  const { config, weights, tokenizerJson, endOfTextId } = buildSmallDemoParts(seed);
  const hfDir = path.join(dir, 'hf-folder');
  await exportHfFolder(config, weights, hfDir, { tokenizerJson, bosTokenId: endOfTextId, eosTokenId: endOfTextId });
  const shardedDir = path.join(dir, 'hf-sharded');
  const written = await exportHfFolder(config, weights, shardedDir, { tokenizerJson, bosTokenId: endOfTextId, eosTokenId: endOfTextId, maxShardBytes: 64 * 1024 });
  const shardNames = written.files.filter((f) => f !== INDEX_FILE);
  if (shardNames.length < 2) throw new Error(`the sharded demo folder has ${shardNames.length} shard; lower maxShardBytes`);
  const ggufFile = path.join(dir, 'demo-q8_0.gguf');
  const hfConfig = JSON.parse(await readFile(path.join(hfDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const model = buildDecoder(config, weights);
  await exportGgufModel({ model, tokenizerJson: JSON.parse(tokenizerJson) as Record<string, unknown>, hfConfig, name: 'demo' }, ggufFile, 'q8_0');
  let weightCount = 0;
  for (const w of weights.values()) weightCount += w.length;
  return {
    safetensors: {
      config: await readFile(path.join(hfDir, 'config.json')),
      model: await readFile(path.join(hfDir, 'model.safetensors')),
      tokenizer: await readFile(path.join(hfDir, 'tokenizer.json')),
    },
    sharded: {
      index: await readFile(path.join(shardedDir, INDEX_FILE)),
      shards: await Promise.all(shardNames.map(async (name) => ({ name, bytes: await readFile(path.join(shardedDir, name)) }))),
    },
    gguf: await readFile(ggufFile),
    weightCount,
    parameterCount: inspectModel(model).parameterCount,
  };
}
