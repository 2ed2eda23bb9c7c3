/**
 * One measured step of the import bench in a process of its own, so its peak RSS is its own:
 * `convert SOURCE OUT` converts a Hugging Face folder or a GGUF file into the model folder OUT
 * as the import job writes it (the ONNX streamed one tensor at a time); `read SOURCE` reads
 * the same tensor bytes plainly, in the same tensor-sized pieces.
 */
import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { convertGguf, convertHfFolder, readGgufHeader, SafetensorsReader, writeConvertedModel } from '@distillery/formats';

export interface ImportChildResult {
  seconds: number;
  /** Bytes produced (convert: the ONNX file) or read (read). */
  bytes: number;
  maxRssMB: number;
}

const isGguf = (source: string): boolean => source.endsWith('.gguf');

async function plainRead(source: string): Promise<number> {
  let bytes = 0;
  if (isGguf(source)) {
    const header = await readGgufHeader(source);
    const handle = await open(source, 'r');
    for (const t of header.tensors) bytes += (await handle.read(new Uint8Array(t.bytes), 0, t.bytes, t.offset)).bytesRead;
    await handle.close();
    return bytes;
  }
  for (const file of (await readdir(source)).filter((f) => f.endsWith('.safetensors')).sort()) {
    const reader = await SafetensorsReader.open(path.join(source, file));
    for (const name of reader.header.tensors.keys()) bytes += (await reader.readBytes(name)).byteLength;
  }
  return bytes;
}

async function convert(source: string, out: string): Promise<number> {
  const converted = isGguf(source) ? await convertGguf(source) : await convertHfFolder(source);
  return writeConvertedModel(converted, out);
}

const [mode, source, out] = process.argv.slice(2);
const start = process.hrtime.bigint();
const bytes = mode === 'convert' ? await convert(source!, out!) : await plainRead(source!);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const result: ImportChildResult = { seconds, bytes, maxRssMB: process.resourceUsage().maxRSS / 1024 };
process.send?.(result);
