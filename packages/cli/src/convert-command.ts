/**
 * `distillery convert`: a Hugging Face safetensors folder, a llama2.c checkpoint or a GGUF
 * file becomes one of our model folders (format detected from the bytes), or a model folder
 * becomes a GGUF file (`--to gguf`). Prints the import report.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { convertHfFolder, convertLlama2c, exportGguf, GGUF_EXPORT_TYPES, importGguf, writeConvertedModel, type GgufExportType, type ImportReport } from '@distillery/formats';
import { resolveConvertInput } from './convert-input';
import { UsageError } from './usage-error';

function printReport(r: ImportReport, stored: string, print: (line: string) => void): void {
  const dtypes = Object.entries(r.dtypes).map(([k, v]) => `${v} ${k}`).join(', ');
  print(`format ${r.format}, architecture ${r.architecture}, ${r.parameters} parameters, tensors ${dtypes}, tokenizer ${r.tokenizerKind ?? 'none'}, stored ${stored}`);
  for (const w of r.warnings) print(`warning: ${w}`);
}

async function exportFolder(dir: string, out: string, typeFlag: string | undefined, print: (line: string) => void): Promise<void> {
  const type = (typeFlag ?? 'f16') as GgufExportType;
  if (!GGUF_EXPORT_TYPES.includes(type)) throw new UsageError(`--type "${typeFlag}" is not one of ${GGUF_EXPORT_TYPES.join(', ')}`);
  await mkdir(out, { recursive: true });
  const file = path.join(out, `${path.basename(path.resolve(dir))}-${type}.gguf`);
  const r = await exportGguf(dir, file, type);
  print(`wrote ${r.file} (${r.bytes} bytes, ${r.tensors} tensors: ${Object.entries(r.tensorTypes).map(([k, v]) => `${v} ${k}`).join(', ')}; vocabulary ${r.tokenizerModel})`);
  for (const w of r.warnings) print(`warning: ${w}`);
}

export async function convertCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { out: { type: 'string' }, to: { type: 'string' }, type: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError(`convert takes one input (a file or a folder), got ${positionals.length}`);
  if (!values.out) throw new UsageError('convert needs --out <dir>');
  if (values.to !== undefined && values.to !== 'gguf') throw new UsageError(`--to "${values.to}" is not supported (gguf is)`);
  const input = await resolveConvertInput(positionals[0]!);
  if (input.kind === 'model-folder') {
    if (values.to !== 'gguf') throw new UsageError(`${input.dir} is a model folder already; add --to gguf to export it`);
    return exportFolder(input.dir, values.out, values.type, print);
  }
  if (values.type !== undefined) throw new UsageError('--type applies to --to gguf exports of a model folder');
  if (values.to === 'gguf') throw new UsageError(`${positionals[0]} is not one of our model folders; convert it first, then export that folder with --to gguf`);
  if (input.kind === 'gguf') {
    const { report, weightDtype } = await importGguf(input.file, values.out);
    print(`wrote model folder ${values.out}`);
    return printReport(report, weightDtype, print);
  }
  const converted = input.kind === 'hf-folder' ? await convertHfFolder(input.dir) : await convertLlama2c(input.file);
  await writeConvertedModel(converted, values.out);
  print(`wrote model folder ${values.out}`);
  printReport(converted.report, converted.weightDtype, print);
}
