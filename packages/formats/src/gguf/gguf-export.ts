/**
 * Exports one of our model folders (a decoder built here, float or weight-only quantized)
 * as a GGUF file of the `llama` architecture that llama.cpp loads: hyperparameters,
 * the embedded vocabulary from tokenizer.json, and every weight in F32, F16, Q8_0 or Q4_0
 * (norms stay F32, as llama.cpp's converter keeps 1-D tensors). A 2-D weight whose rows
 * are not whole 32-value blocks is written F16 instead, with a warning.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decoderWeightsFromModel, type DecoderConfig } from '@distillery/nn';
import { readModel, type Model } from '@distillery/onnx';
import { encodeGgml } from './gguf-blocks';
import { expectedGgufDims, ggufTensorName, toGgufTensor } from './gguf-llama-tensors';
import { FILE_TYPE, GgmlType, GgufValueType, type GgufMetadata } from './gguf-types';
import { vocabToGguf } from './gguf-vocab';
import { gv, writeGguf, type GgufTensorOut } from './gguf-writer';

export const GGUF_EXPORT_TYPES = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0'] as const;
export type GgufExportType = (typeof GGUF_EXPORT_TYPES)[number];

const TYPE_OF: Record<GgufExportType, GgmlType> = { f32: GgmlType.F32, f16: GgmlType.F16, bf16: GgmlType.BF16, q8_0: GgmlType.Q8_0, q4_0: GgmlType.Q4_0 };
const FILE_TYPE_OF: Record<GgufExportType, number> = { f32: FILE_TYPE.F32, f16: FILE_TYPE.F16, bf16: FILE_TYPE.BF16, q8_0: FILE_TYPE.Q8_0, q4_0: FILE_TYPE.Q4_0 };

export interface GgufExportReport {
  file: string;
  bytes: number;
  type: GgufExportType;
  tokenizerModel: string;
  tensors: number;
  /** Tensor count by ggml type name. */
  tensorTypes: Record<string, number>;
  warnings: string[];
}

function llamaMetadata(c: DecoderConfig, name: string, type: GgufExportType): GgufMetadata {
  const m: GgufMetadata = new Map();
  m.set('general.architecture', gv.str('llama'));
  m.set('general.name', gv.str(name));
  m.set('general.file_type', gv.u32(FILE_TYPE_OF[type]));
  if (type === 'q8_0' || type === 'q4_0') m.set('general.quantization_version', gv.u32(2));
  m.set('llama.vocab_size', gv.u32(c.vocabSize));
  m.set('llama.context_length', gv.u32(c.maxPositions));
  m.set('llama.embedding_length', gv.u32(c.hiddenSize));
  m.set('llama.block_count', gv.u32(c.nLayers));
  m.set('llama.feed_forward_length', gv.u32(c.ffnSize));
  m.set('llama.attention.head_count', gv.u32(c.nHeads));
  m.set('llama.attention.head_count_kv', gv.u32(c.nKvHeads));
  m.set('llama.attention.key_length', gv.u32(c.headDim));
  m.set('llama.attention.value_length', gv.u32(c.headDim));
  m.set('llama.rope.dimension_count', gv.u32(c.headDim));
  m.set('llama.rope.freq_base', gv.f32(c.ropeTheta));
  m.set('llama.attention.layer_norm_rms_epsilon', gv.f32(c.normEps));
  return m;
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`${file}: cannot be read (${(error as Error).message})`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

const idOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null);

export async function exportGguf(folder: string, outFile: string, type: GgufExportType): Promise<GgufExportReport> {
  const model = await readModel(path.join(folder, 'onnx', 'model.onnx'));
  const tokenizerJson = await readJson(path.join(folder, 'tokenizer.json'));
  let hf: Record<string, unknown> = {};
  try {
    hf = await readJson(path.join(folder, 'config.json'));
  } catch {
    hf = {};
  }
  return exportGgufModel({ model, tokenizerJson, hfConfig: hf, name: path.basename(path.resolve(folder)) }, outFile, type);
}

/** The export of a decoder held in memory, with its tokenizer.json and (optionally) config.json contents. */
export async function exportGgufModel(
  input: { model: Model; tokenizerJson: Record<string, unknown>; hfConfig?: Record<string, unknown>; name: string },
  outFile: string,
  type: GgufExportType,
): Promise<GgufExportReport> {
  if (!GGUF_EXPORT_TYPES.includes(type)) throw new Error(`GGUF type "${type}" is not one of ${GGUF_EXPORT_TYPES.join(', ')}`);
  const { config, weights } = decoderWeightsFromModel(input.model);
  const hf = input.hfConfig ?? {};
  const vocab = vocabToGguf(input.tokenizerJson, config.vocabSize, { bos: idOrNull(hf.bos_token_id), eos: idOrNull(hf.eos_token_id) });
  const metadata = llamaMetadata(config, input.name, type);
  for (const [k, v] of vocab.metadata) metadata.set(k, v);
  const warnings = [...vocab.warnings];
  const wanted = TYPE_OF[type];
  const tensorTypes: Record<string, number> = {};
  const tensors: GgufTensorOut[] = [];
  for (const [hfName, values] of weights) {
    const name = ggufTensorName(hfName);
    const ne = expectedGgufDims(hfName, config);
    let t = ne.length === 1 ? GgmlType.F32 : wanted;
    if (ne.length > 1 && (t === GgmlType.Q8_0 || t === GgmlType.Q4_0) && ne[0]! % 32 !== 0) {
      warnings.push(`${name}: rows of ${ne[0]} values are not whole 32-value blocks; written as F16`);
      t = GgmlType.F16;
    }
    tensorTypes[GgmlType[t]] = (tensorTypes[GgmlType[t]] ?? 0) + 1;
    tensors.push({ name, ne, type: t, data: () => encodeGgml(t, toGgufTensor(hfName, values, config).data) });
  }
  const { bytes } = await writeGguf(outFile, metadata, tensors);
  const modelKind = metadata.get('tokenizer.ggml.model');
  return {
    file: outFile,
    bytes,
    type,
    tokenizerModel: modelKind?.type === GgufValueType.STRING ? modelKind.value : 'none',
    tensors: tensors.length,
    tensorTypes,
    warnings,
  };
}
