/**
 * One measured step of the import bench in a process of its own, so its peak RSS is its own:
 * `convert SOURCE OUT` converts a Hugging Face folder or a GGUF file into the model folder OUT
 * as the import job writes it (the ONNX streamed one tensor at a time); `convert-whole SOURCE
 * OUT` reads every weight into the model first and writes its serialization, as imports did
 * before streaming; `read SOURCE` reads the same tensor bytes plainly, in the same
 * tensor-sized pieces.
 */
import { readFileSync } from 'node:fs';
import { mkdir, open, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { convertGguf, convertHfFolder, readGgufHeader, SafetensorsReader, writeConvertedModel } from '@distillery/formats';
import { materializeModel, serializeModel } from '@distillery/onnx';

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

async function convert(source: string, out: string, whole: boolean): Promise<number> {
  const converted = isGguf(source) ? await convertGguf(source) : await convertHfFolder(source);
  if (!whole) return writeConvertedModel(converted, out);
  const bytes = serializeModel(await materializeModel(converted.onnx)).model;
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, 'model.onnx'), bytes);
  return bytes.byteLength;
}

/**
 * This process's own peak RSS in MB: VmHWM, the high-water mark of the memory map exec gave
 * it. getrusage's maxrss is not that: Linux carries it over from fork, so a child would
 * report at least the parent's RSS at the time it was forked.
 */
function peakRssMB(): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error('no VmHWM in /proc/self/status: the import bench measures peak RSS on Linux');
  return Number(m[1]) / 1024;
}

const [mode, source, out] = process.argv.slice(2);
const start = process.hrtime.bigint();
const bytes = mode === 'read' ? await plainRead(source!) : await convert(source!, out!, mode === 'convert-whole');
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const result: ImportChildResult = { seconds, bytes, maxRssMB: peakRssMB() };
process.send?.(result);
