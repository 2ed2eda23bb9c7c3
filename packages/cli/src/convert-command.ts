/**
 * `distillery convert`: a GGUF file becomes one of our model folders (format detected
 * from the bytes), or a model folder becomes a GGUF file (`--to gguf`).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { detectFileFormat, exportGguf, GGUF_EXPORT_TYPES, importGguf, type GgufExportType } from '@distillery/formats';
import { UsageError } from './usage-error';

export async function convertCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { out: { type: 'string' }, to: { type: 'string' }, type: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError(`convert takes one input (a file or a model folder), got ${positionals.length}`);
  if (!values.out) throw new UsageError('convert needs --out <dir>');
  const input = positionals[0]!;
  const info = await stat(input).catch(() => {
    throw new UsageError(`${input}: no such file or folder`);
  });
  if (values.to !== undefined && values.to !== 'gguf') throw new UsageError(`--to "${values.to}" is not supported (gguf is)`);
  if (info.isDirectory()) {
    if (values.to !== 'gguf') throw new UsageError(`${input} is a model folder already; add --to gguf to export it`);
    const type = (values.type ?? 'f16') as GgufExportType;
    if (!GGUF_EXPORT_TYPES.includes(type)) throw new UsageError(`--type "${values.type}" is not one of ${GGUF_EXPORT_TYPES.join(', ')}`);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(values.out, { recursive: true });
    const file = path.join(values.out, `${path.basename(path.resolve(input))}-${type}.gguf`);
    const r = await exportGguf(input, file, type);
    print(`wrote ${r.file} (${r.bytes} bytes, ${r.tensors} tensors: ${Object.entries(r.tensorTypes).map(([k, v]) => `${v} ${k}`).join(', ')}; vocabulary ${r.tokenizerModel})`);
    for (const w of r.warnings) print(`warning: ${w}`);
    return;
  }
  if (values.type !== undefined) throw new UsageError('--type applies to --to gguf exports of a model folder');
  if (values.to === 'gguf') throw new UsageError(`${input} is a file; --to gguf exports a model folder`);
  const detected = await detectFileFormat(input);
  if (detected.format !== 'gguf') {
    throw new UsageError(`${input}: ${detected.format === 'unknown' ? detected.reason : `${detected.format} (${detected.reason}) is not converted by this command yet (GGUF is)`}`);
  }
  const { report: r, weightDtype } = await importGguf(input, values.out);
  print(`wrote model folder ${values.out}`);
  print(`format ${r.format}, architecture ${r.architecture}, ${r.parameters} parameters, tensors ${Object.entries(r.dtypes).map(([k, v]) => `${v} ${k}`).join(', ')}, tokenizer ${r.tokenizerKind}, stored ${weightDtype}`);
  for (const w of r.warnings) print(`warning: ${w}`);
}
