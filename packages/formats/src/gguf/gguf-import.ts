/**
 * Imports a GGUF file of the `llama` architecture as one of our model folders: the config
 * from the llama.* metadata, the embedded vocabulary as tokenizer.json, and each weight
 * read, dequantized, checked finite and put back in Hugging Face order (transposed,
 * llama.cpp's q/k row permutation undone) one tensor at a time as the ONNX file is written.
 */
import { buildDecoder, decoderWeightShapes, loadTokenizer, parameterCount, parseDecoderConfig, toHfConfig, type DecoderConfig } from '@distillery/nn';
import { float16BitsToFloat32, float32ToFloat16Array, float32ToFloat16Bits, type TensorSource } from '@distillery/onnx';
import { expectedGgufDims, fromGgufTensor, ggufTensorName } from './gguf-llama-tensors';
import { GgufMetadataReader } from './gguf-metadata';
import { readGgufHalfBits, readGgufHeader, readGgufTensor, type GgufHeader } from './gguf-reader';
import { GgmlType, GgufFormatError } from './gguf-types';
import { ggufToTokenizerJson } from './gguf-vocab';
import type { ImportReport } from '../import-report';
import type { ConvertedModel } from '../safetensors/convert-hf-folder';
import { writeConvertedModel } from '../write-converted-model';

/** What importGguf wrote: the report every import gives, the decoder config and the ONNX storage type. */
export interface GgufImport {
  report: ImportReport;
  config: DecoderConfig;
  weightDtype: 'float32' | 'float16';
}

/** The decoder config the llama.* metadata and tensor dims describe. */
export function llamaConfigFromGguf(header: GgufHeader): { config: DecoderConfig; warnings: string[] } {
  const m = new GgufMetadataReader(header);
  const arch = m.string('general.architecture');
  if (arch !== 'llama') throw new GgufFormatError(header.file, 'general.architecture', `"${arch}" is not supported (llama is)`);
  const warnings: string[] = [];
  const hiddenSize = m.count('llama.embedding_length');
  const nHeads = m.count('llama.attention.head_count');
  const nKvHeads = m.count('llama.attention.head_count_kv', true) ?? nHeads;
  const headDim = m.count('llama.attention.key_length', true) ?? hiddenSize / nHeads;
  const valueLength = m.count('llama.attention.value_length', true);
  if (valueLength !== undefined && valueLength !== headDim) throw new GgufFormatError(header.file, 'llama.attention.value_length', `${valueLength} differs from key_length ${headDim}, which is not supported`);
  const ropeDims = m.count('llama.rope.dimension_count', true);
  if (ropeDims !== undefined && ropeDims !== headDim) throw new GgufFormatError(header.file, 'llama.rope.dimension_count', `${ropeDims} rotates part of each ${headDim}-wide head, which is not supported`);
  const scaling = m.string('llama.rope.scaling.type', true);
  if (scaling !== undefined && scaling !== 'none') throw new GgufFormatError(header.file, 'llama.rope.scaling.type', `"${scaling}" rope scaling is not supported`);
  const embed = header.tensors.find((t) => t.name === 'token_embd.weight');
  if (!embed) throw new GgufFormatError(header.file, 'tensor token_embd.weight', 'missing');
  if (embed.ne.length !== 2 || embed.ne[0] !== hiddenSize) {
    throw new GgufFormatError(header.file, 'tensor token_embd.weight dims', `[${embed.ne.join(', ')}] disagree with llama.embedding_length ${hiddenSize}`);
  }
  const vocabSize = embed.ne[1]!;
  const declaredVocab = m.count('llama.vocab_size', true);
  if (declaredVocab !== undefined && declaredVocab !== vocabSize) warnings.push(`llama.vocab_size ${declaredVocab} differs from token_embd's ${vocabSize} rows; the tensor is used`);
  let config: DecoderConfig;
  try {
    config = parseDecoderConfig({
      arch: 'llama',
      vocabSize,
      hiddenSize,
      nLayers: m.count('llama.block_count'),
      nHeads,
      nKvHeads,
      headDim,
      ffnSize: m.count('llama.feed_forward_length'),
      maxPositions: m.count('llama.context_length'),
      ropeTheta: shortestFloat32(m.number('llama.rope.freq_base', true) ?? 10000),
      normEps: shortestFloat32(m.number('llama.attention.layer_norm_rms_epsilon')),
      tieEmbeddings: !header.tensors.some((t) => t.name === 'output.weight'),
    });
  } catch (error) {
    throw new GgufFormatError(header.file, 'llama.*', (error as Error).message);
  }
  return { config, warnings };
}

/** Every expected tensor present with the dims the config implies; unknown extras are warned about. */
function checkTensors(header: GgufHeader, c: DecoderConfig, warnings: string[]): Map<string, string> {
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  const ggufToHf = new Map<string, string>();
  for (const hfName of decoderWeightShapes(c).keys()) {
    const name = ggufTensorName(hfName);
    const t = byName.get(name);
    if (!t) throw new GgufFormatError(header.file, `tensor ${name}`, 'missing');
    const want = expectedGgufDims(hfName, c);
    if (t.ne.length !== want.length || t.ne.some((d, i) => d !== want[i])) {
      throw new GgufFormatError(header.file, `tensor ${name} dims`, `[${t.ne.join(', ')}] disagree with the metadata, which implies [${want.join(', ')}]`);
    }
    ggufToHf.set(name, hfName);
  }
  for (const t of header.tensors) {
    if (ggufToHf.has(t.name)) continue;
    if (t.name === 'rope_freqs.weight') throw new GgufFormatError(header.file, 'tensor rope_freqs.weight', 'per-frequency rope factors are not supported');
    warnings.push(`tensor ${t.name} is not part of a llama decoder and was ignored`);
  }
  return ggufToHf;
}

function tokenizerFromGguf(header: GgufHeader, vocabSize: number): ReturnType<typeof ggufToTokenizerJson> & { bos?: number; eos?: number } {
  const m = new GgufMetadataReader(header);
  const tokens = m.strings('tokenizer.ggml.tokens')!;
  if (tokens.length < vocabSize) throw new GgufFormatError(header.file, 'tokenizer.ggml.tokens', `${tokens.length} tokens, fewer than the model's ${vocabSize} embeddings`);
  if (tokens.length > vocabSize) throw new GgufFormatError(header.file, 'tokenizer.ggml.tokens', `${tokens.length} tokens, more than the model's ${vocabSize} embeddings`);
  const id = (key: string): number | undefined => {
    const v = m.number(key, true);
    if (v === undefined) return undefined;
    if (!Number.isInteger(v) || v < 0 || v >= tokens.length) throw new GgufFormatError(header.file, key, `${v} is not a token id below ${tokens.length}`);
    return v;
  };
  const types = m.numbers('tokenizer.ggml.token_type');
  const scores = m.numbers('tokenizer.ggml.scores');
  for (const [key, arr] of [['tokenizer.ggml.token_type', types], ['tokenizer.ggml.scores', scores]] as const) {
    if (arr && arr.length !== tokens.length) throw new GgufFormatError(header.file, key, `${arr.length} entries for ${tokens.length} tokens`);
  }
  const bos = id('tokenizer.ggml.bos_token_id');
  const eos = id('tokenizer.ggml.eos_token_id');
  const out = ggufToTokenizerJson({
    model: m.string('tokenizer.ggml.model'),
    pre: m.string('tokenizer.ggml.pre', true),
    tokens,
    types,
    scores,
    merges: m.strings('tokenizer.ggml.merges', true),
    bos,
    eos,
    unk: id('tokenizer.ggml.unknown_token_id'),
    addBos: m.bool('tokenizer.ggml.add_bos_token'),
  });
  return { ...out, bos, eos };
}

/** The shortest decimal that is the same float32: GGUF stores 1e-6 as 9.99999997e-7. */
export function shortestFloat32(x: number): number {
  for (let p = 1; p < 17; p++) {
    const d = Number(x.toPrecision(p));
    if (Math.fround(d) === Math.fround(x)) return d;
  }
  return x;
}

const isHalfExact = (v: Float32Array): boolean => v.every((x) => float16BitsToFloat32(float32ToFloat16Bits(x)) === x);

const bytesOf = (v: Float32Array | Uint16Array): Uint8Array => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

/**
 * The GGUF file as a converted model whose weights are read when it is written. Float16
 * storage only where it loses nothing: every 2-D weight F16 and every 1-D one (norms, read
 * here to check) exactly representable.
 */
export async function convertGguf(file: string, onProgress?: (fraction: number, tensor: string) => void): Promise<ConvertedModel & { readonly config: DecoderConfig }> {
  const header = await readGgufHeader(file);
  const { config, warnings } = llamaConfigFromGguf(header);
  const ggufToHf = checkTensors(header, config, warnings);
  const vocab = tokenizerFromGguf(header, config.vocabSize);
  warnings.push(...vocab.warnings);
  // Refuse a vocabulary our own loader cannot use before any weight is read.
  try {
    loadTokenizer(vocab.tokenizer);
  } catch (error) {
    throw new GgufFormatError(file, 'tokenizer.ggml.*', `the embedded vocabulary does not make a usable tokenizer: ${(error as Error).message}`);
  }
  const used = header.tensors.filter((info) => ggufToHf.has(info.name));
  const dtypes: Record<string, number> = {};
  for (const info of used) dtypes[GgmlType[info.type]] = (dtypes[GgmlType[info.type]] ?? 0) + 1;
  let half = used.every((info) => info.ne.length === 1 || info.type === GgmlType.F16);
  for (const info of used) {
    if (!half) break;
    if (info.ne.length === 1) half = isHalfExact(await readGgufTensor(header, info));
  }
  const weightDtype = half ? 'float16' : 'float32';
  const shapes = decoderWeightShapes(config);
  const sources = new Map<string, TensorSource>();
  let done = 0;
  for (const info of used) {
    const hfName = ggufToHf.get(info.name)!;
    sources.set(hfName, {
      dtype: weightDtype,
      dims: shapes.get(hfName)!,
      read: async () => {
        // F16 into float16 storage: the bits move as they are, no float32 round trip.
        if (half && info.type === GgmlType.F16) {
          const bits = fromGgufTensor(hfName, await readGgufHalfBits(header, info), config);
          onProgress?.(++done / used.length, hfName);
          return bytesOf(bits);
        }
        const values = fromGgufTensor(hfName, await readGgufTensor(header, info), config);
        onProgress?.(++done / used.length, hfName);
        return bytesOf(half ? float32ToFloat16Array(values) : values);
      },
    });
  }
  const model = buildDecoder(config, new Map(), { sources });
  const tokens = (vocab.tokenizer.model as { vocab: Record<string, number> }).vocab;
  const nameOf = (id: number | undefined) => (id === undefined ? null : (Object.keys(tokens).find((k) => tokens[k] === id) ?? null));
  const tokenizerConfig = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: nameOf(vocab.bos),
    eos_token: nameOf(vocab.eos),
    model_max_length: config.maxPositions,
    clean_up_tokenization_spaces: false,
  };
  return {
    onnx: { model, sources },
    config,
    weightDtype,
    hfConfig: toHfConfig(config, { bosTokenId: vocab.bos ?? null, eosTokenId: vocab.eos ?? null, torchDtype: weightDtype }),
    tokenizerJson: JSON.stringify(vocab.tokenizer) + '\n',
    tokenizerConfigJson: JSON.stringify(tokenizerConfig, null, 2) + '\n',
    report: { format: `gguf v${header.version}`, architecture: 'llama', parameters: parameterCount(config), dtypes, tokenizerKind: vocab.kind, warnings },
  };
}

/** Reads `file` (a GGUF) and writes the model folder `outDir`. */
export async function importGguf(file: string, outDir: string): Promise<GgufImport> {
  const converted = await convertGguf(file);
  await writeConvertedModel(converted, outDir);
  return { report: converted.report, config: converted.config, weightDtype: converted.weightDtype };
}
