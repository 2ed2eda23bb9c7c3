/**
 * A Hugging Face GPT-2 folder (GPT2LMHeadModel safetensors) into one of our model folders:
 * onnx/model.onnx from the GPT-2 builder (float32), config.json, and the tokenizer files as
 * they came. Checkpoint names with or without the `transformer.` prefix are read; the causal
 * mask buffers some checkpoints carry (attn.bias, attn.masked_bias) are recomputed, and a
 * stored lm_head.weight must equal wte (the head is tied).
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildGpt2, gpt2WeightShapes, type Gpt2Config, type Gpt2Weights } from '@distillery/nn';
import { writeModel } from '@distillery/onnx';
import { FormatError } from '../format-error';
import type { ImportReport } from '../import-report';
import { tokenizerReport } from '../tokenizer-report';
import { readGpt2HfConfig } from './gpt2-hf-config';
import { SafetensorsShards } from './safetensors-shards';

export interface Gpt2FolderImport {
  report: ImportReport;
  config: Gpt2Config;
}

const MASK_BUFFER = /(^|\.)attn\.(masked_)?bias$/;

export async function convertGpt2Folder(dir: string, outDir: string): Promise<Gpt2FolderImport> {
  const configFile = path.join(dir, 'config.json');
  const json = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
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
  const model = buildGpt2(config, weights);
  await mkdir(path.join(outDir, 'onnx'), { recursive: true });
  await writeModel(model, path.join(outDir, 'onnx', 'model.onnx'));
  await writeFile(path.join(outDir, 'config.json'), JSON.stringify({ ...json, torch_dtype: 'float32' }, null, 2) + '\n');
  let tokenizerKind: string | null = null;
  try {
    const tokenizerJson = await readFile(path.join(dir, 'tokenizer.json'), 'utf8');
    const t = tokenizerReport(tokenizerJson, path.join(dir, 'tokenizer.json'), json, {}, config.vocabSize);
    tokenizerKind = t.kind;
    warnings.push(...t.warnings);
    await writeFile(path.join(outDir, 'tokenizer.json'), tokenizerJson);
    await copyFile(path.join(dir, 'tokenizer_config.json'), path.join(outDir, 'tokenizer_config.json')).catch(() => undefined);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    warnings.push('no tokenizer.json in the folder: perplexity, tasks and samples will be skipped for this model');
  }
  const parameters = [...gpt2WeightShapes(config).values()].reduce((n, s) => n + s.reduce((m, d) => m * d, 1), 0);
  return { report: { format: 'safetensors', architecture: 'gpt2', parameters, dtypes, tokenizerKind, warnings }, config };
}
