/**
 * One measured step of the import bench in a process of its own, so its peak RSS is its own:
 * `convert DIR` converts the Hugging Face folder to the serialized ONNX the import job stores;
 * `read DIR` reads the same safetensors bytes plainly, in the same tensor-sized pieces.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { convertHfFolder, SafetensorsReader } from '@distillery/formats';
import { serializeModel } from '@distillery/onnx';

export interface ImportChildResult {
  seconds: number;
  /** Bytes produced (convert) or read (read). */
  bytes: number;
  maxRssMB: number;
}

async function plainRead(dir: string): Promise<number> {
  let bytes = 0;
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.safetensors')).sort()) {
    const reader = await SafetensorsReader.open(path.join(dir, file));
    for (const name of reader.header.tensors.keys()) bytes += (await reader.readBytes(name)).byteLength;
    await reader.close();
  }
  return bytes;
}

async function convert(dir: string): Promise<number> {
  const converted = await convertHfFolder(dir);
  return serializeModel(converted.model).model.byteLength;
}

const [mode, dir] = process.argv.slice(2);
const start = process.hrtime.bigint();
const bytes = mode === 'convert' ? await convert(dir) : await plainRead(dir);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const result: ImportChildResult = { seconds, bytes, maxRssMB: process.resourceUsage().maxRSS / 1024 };
process.send?.(result);
