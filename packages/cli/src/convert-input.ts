/**
 * What `distillery convert` was given, decided from the bytes (never the file name): one of
 * our model folders, a Hugging Face safetensors folder (named by the folder, its
 * model.safetensors or its shard index), a llama2.c checkpoint, or a GGUF file.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { detectFileFormat, INDEX_FILE, SINGLE_FILE } from '@distillery/formats';
import { UsageError } from './usage-error';

export type ConvertInput =
  | { kind: 'model-folder'; dir: string }
  | { kind: 'hf-folder'; dir: string }
  | { kind: 'llama2c'; file: string }
  | { kind: 'gguf'; file: string };

const MODEL_FOLDER_FILE = path.join('onnx', 'model.onnx');

async function hfFolder(dir: string, named: string): Promise<ConvertInput> {
  // The shard reader opens the index or the single file by their standard names.
  if (!existsSync(path.join(dir, INDEX_FILE)) && !existsSync(path.join(dir, SINGLE_FILE))) {
    throw new UsageError(`${named}: a safetensors file, but its folder has neither ${SINGLE_FILE} nor ${INDEX_FILE} (rename it, or name the folder)`);
  }
  return { kind: 'hf-folder', dir };
}

async function folderInput(dir: string): Promise<ConvertInput> {
  if (existsSync(path.join(dir, MODEL_FOLDER_FILE))) return { kind: 'model-folder', dir };
  for (const name of [INDEX_FILE, SINGLE_FILE]) {
    const file = path.join(dir, name);
    if (!existsSync(file)) continue;
    const detected = await detectFileFormat(file);
    if (detected.format !== 'safetensors' && detected.format !== 'safetensors-index') {
      throw new UsageError(`${file}: not safetensors (${detected.format === 'unknown' ? detected.reason : `it is ${detected.format}`})`);
    }
    return { kind: 'hf-folder', dir };
  }
  throw new UsageError(`${dir}: neither one of our model folders (${MODEL_FOLDER_FILE}) nor a Hugging Face folder (${SINGLE_FILE} or ${INDEX_FILE})`);
}

export async function resolveConvertInput(input: string): Promise<ConvertInput> {
  const info = await stat(input).catch(() => {
    throw new UsageError(`${input}: no such file or folder`);
  });
  if (info.isDirectory()) return folderInput(input);
  const detected = await detectFileFormat(input);
  switch (detected.format) {
    case 'gguf':
      return { kind: 'gguf', file: input };
    case 'llama2c':
      return { kind: 'llama2c', file: input };
    case 'safetensors':
    case 'safetensors-index':
      return hfFolder(path.dirname(input), input);
    case 'onnx':
      throw new UsageError(`${input}: an ONNX file (${detected.reason}); convert exports one of our model folders with --to gguf, so name the folder`);
    default:
      throw new UsageError(`${input}: ${detected.reason}`);
  }
}
