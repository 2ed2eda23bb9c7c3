/**
 * Writes a converted model as one of our model folders: onnx/model.onnx (streamed, one
 * weight read and converted at a time), config.json, tokenizer.json and
 * tokenizer_config.json when the source had them. Returns the ONNX file's size.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeDeferredModel } from '@distillery/onnx';
import type { ConvertedModel } from './safetensors/convert-hf-folder';

export async function writeConvertedModel(converted: ConvertedModel, outDir: string): Promise<number> {
  await mkdir(path.join(outDir, 'onnx'), { recursive: true });
  const bytes = await writeDeferredModel(converted.onnx, path.join(outDir, 'onnx', 'model.onnx'));
  await writeFile(path.join(outDir, 'config.json'), JSON.stringify(converted.hfConfig, null, 2) + '\n');
  if (converted.tokenizerJson !== null) await writeFile(path.join(outDir, 'tokenizer.json'), converted.tokenizerJson);
  if (converted.tokenizerConfigJson !== null) await writeFile(path.join(outDir, 'tokenizer_config.json'), converted.tokenizerConfigJson);
  return bytes;
}
