/**
 * One measured step of the import bench in a process of its own, so its peak RSS is its own:
 * `convert SOURCE OUT` converts a Hugging Face folder, a GGUF file or a llama2.c checkpoint
 * into the model folder OUT as the import job writes it (the ONNX streamed one tensor at a
 * time); `convert-whole SOURCE OUT` reads every weight into the model first and writes its
 * serialization, as imports did before streaming; `upload SOURCE OUT` is the import job's
 * path for an upload: the thread's convertUpload (streamed conversion, checks, weights checked
 * as written), then the worker's streaming put of the ONNX file into an artifact store in OUT;
 * `upload-held` is that with the whole upload read into memory first and kept, as the worker
 * handled GGUF and llama2.c uploads before converting from a file;
 * `upload-onnx SOURCE OUT` is the import job's path for an ONNX upload: the upload streamed
 * into an artifact store in OUT, the worker's scratch copy streamed out of it, and the
 * thread's check of that copy from its graph, weights read a chunk at a time from their
 * ranges (checkOnnxUpload); `upload-onnx-whole` reads the upload whole, decodes it and checks
 * the decoded model, as the import job handled ONNX uploads before;
 * `read SOURCE` reads the same tensor bytes plainly, in the same tensor-sized pieces (an
 * ONNX file in 16 MB pieces); `idle`
 * does nothing, so its peak is what Node and the modules loaded here take before any work.
 */
import { readFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LocalArtifactStore } from '@distillery/artifacts';
import { convertGguf, convertHfFolder, convertLlama2c, fileSource, planLlama2c, readGgufHeader, SafetensorsReader, writeConvertedModel, type ConvertedModel, type FileFormat } from '@distillery/formats';
import { decodeModel, materializeModel, serializeModel } from '@distillery/onnx';
import { checkOnnxUpload, convertUpload } from '@distillery/workers/import-conversion';
import { checkModel } from '@distillery/workers/model-validation';
import { uploadedHfFolder } from '@distillery/workers/uploaded-hf-folder';

export interface ImportChildResult {
  seconds: number;
  /** Bytes produced (convert: the ONNX file) or read (read). */
  bytes: number;
  maxRssMB: number;
}

const isGguf = (source: string): boolean => source.endsWith('.gguf');
const isLlama2c = (source: string): boolean => source.endsWith('.bin');

/** Pieces an ONNX file is plainly read in: the chunk its weights are checked in (4M float32 elements). */
const ONNX_READ_PIECE = 16 * 2 ** 20;

async function plainRead(source: string): Promise<number> {
  let bytes = 0;
  if (source.endsWith('.onnx')) {
    const handle = await open(source, 'r');
    const piece = new Uint8Array(ONNX_READ_PIECE);
    for (let n; (n = (await handle.read(piece, 0, piece.byteLength, bytes)).bytesRead) > 0; ) bytes += n;
    await handle.close();
    return bytes;
  }
  if (isGguf(source)) {
    const header = await readGgufHeader(source);
    const handle = await open(source, 'r');
    for (const t of header.tensors) bytes += (await handle.read(new Uint8Array(t.bytes), 0, t.bytes, t.offset)).bytesRead;
    await handle.close();
    return bytes;
  }
  if (isLlama2c(source)) {
    const file = await fileSource(source);
    const plan = await planLlama2c(file);
    for (const t of plan.tensors) bytes += (await file.read(t.offset, t.elements * 4)).byteLength;
    await file.close();
    return bytes;
  }
  for (const file of (await readdir(source)).filter((f) => f.endsWith('.safetensors')).sort()) {
    const reader = await SafetensorsReader.open(path.join(source, file));
    for (const name of reader.header.tensors.keys()) bytes += (await reader.readBytes(name)).byteLength;
  }
  return bytes;
}

function converterOf(source: string): Promise<ConvertedModel> {
  if (isGguf(source)) return convertGguf(source);
  if (isLlama2c(source)) return convertLlama2c(source, { tokenizerFile: null });
  return convertHfFolder(source);
}

/** Bytes kept alive until the peak is read, so the measurement holds what the path holds. */
const kept: Uint8Array[] = [];

async function upload(source: string, out: string, held: boolean): Promise<number> {
  if (held) {
    // A folder's upload is its shards.
    const files = isGguf(source) || isLlama2c(source) ? [source] : (await readdir(source)).filter((f) => f.endsWith('.safetensors')).map((f) => path.join(source, f));
    for (const f of files) kept.push(await readFile(f));
  }
  const fromFile = isGguf(source) || isLlama2c(source);
  const format: FileFormat = isGguf(source) ? 'gguf' : isLlama2c(source) ? 'llama2c' : 'safetensors-index';
  await mkdir(out, { recursive: true });
  const input = { sourceDir: fromFile ? null : source, modelFile: fromFile ? source : null, tokenizerJson: null, onProgress: () => {} };
  const converted = await convertUpload(format, input, path.join(out, 'model.onnx'));
  if (converted === null) throw new Error(`${source}: convertUpload converted nothing`);
  const stored = await new LocalArtifactStore(path.join(out, 'store')).putFile(converted.file);
  if (stored.bytes !== converted.bytes) throw new Error(`the store holds ${stored.bytes} bytes of a ${converted.bytes}-byte model`);
  return stored.bytes;
}

async function uploadOnnx(source: string, out: string, whole: boolean): Promise<number> {
  if (whole) {
    const bytes = await readFile(source);
    const summary = checkModel(decodeModel(bytes));
    if (summary.parameterCount === 0) throw new Error(`${source}: the decoded model has no parameters`);
    kept.push(bytes);
    return bytes.byteLength;
  }
  const store = new LocalArtifactStore(path.join(out, 'store'));
  const stored = await store.putFile(source);
  const scratch = await uploadedHfFolder(store, { main: { name: 'model.onnx', sha256: stored.sha256 }, files: [], configJson: null, tokenizerJson: null });
  try {
    const checked = await checkOnnxUpload('onnx', { modelFile: path.join(scratch.dir, 'model.onnx'), sourceDir: null }, path.join(out, 'model.onnx'));
    if (checked.summary.parameterCount === 0) throw new Error(`${source}: the checked model has no parameters`);
    if (checked.file !== null) throw new Error(`${source}: a single-file ONNX upload was rewritten`);
  } finally {
    await scratch.remove();
  }
  return stored.bytes;
}

async function convert(source: string, out: string, whole: boolean): Promise<number> {
  const converted = await converterOf(source);
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
const bytes =
  mode === 'idle'
    ? 0
    : mode === 'read'
      ? await plainRead(source!)
      : mode === 'upload-onnx' || mode === 'upload-onnx-whole'
        ? await uploadOnnx(source!, out!, mode === 'upload-onnx-whole')
        : mode === 'upload' || mode === 'upload-held' ? await upload(source!, out!, mode === 'upload-held') : await convert(source!, out!, mode === 'convert-whole');
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const result: ImportChildResult = { seconds, bytes, maxRssMB: peakRssMB() };
if ((mode === 'upload-held' || mode === 'upload-onnx-whole') && kept.length === 0) throw new Error('the held upload path kept nothing');
process.send?.(result);
