/**
 * A llama2.c checkpoint (with the tokenizer.bin beside it, when there is one) into the parts
 * of our model folder: the ONNX decoder in float32 (as the checkpoint stores it), its HF
 * config.json, the tokenizer as tokenizer.json, and the import report. Only the header is
 * read here; each weight is read from the checkpoint (a file handle per weight for a path)
 * when the ONNX file is written, so a conversion holds one weight at a time.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildDecoder, decoderWeightShapes, toHfConfig } from '@distillery/nn';
import type { TensorSource } from '@distillery/onnx';
import { fileSource, type ByteSource } from '../byte-source';
import type { ConvertedModel } from '../safetensors/convert-hf-folder';
import { tokenizerReport } from '../tokenizer-report';
import { llama2cTokenizerJson, readLlama2cTokenizer } from './llama2c-tokenizer';
import { planLlama2c, readLlama2cTensor } from './read-llama2c';

export const LLAMA2C_TOKENIZER_FILE = 'tokenizer.bin';

export interface ConvertLlama2cOptions {
  /** tokenizer.bin to read; default the one beside a checkpoint file; null for none. */
  tokenizerFile?: string | null;
  onProgress?: (fraction: number) => void;
}

/** Opens the checkpoint for one read; a source handed in stays open (its owner closes it). */
function opener(input: string | ByteSource): { open(): Promise<ByteSource>; done(source: ByteSource): Promise<void> } {
  if (typeof input === 'string') return { open: () => fileSource(input), done: (s) => s.close() };
  return { open: async () => input, done: async () => undefined };
}

/**
 * `input` is the checkpoint's path or its bytes (then name the tokenizer.bin, if any, in the
 * options). A source handed in must stay open until the converted model has been written.
 */
export async function convertLlama2c(input: string | ByteSource, options: ConvertLlama2cOptions = {}): Promise<ConvertedModel> {
  const io = opener(input);
  const headerSource = await io.open();
  const plan = await planLlama2c(headerSource).finally(() => io.done(headerSource));
  const warnings: string[] = [];
  const beside = typeof input === 'string' ? path.join(path.dirname(input), LLAMA2C_TOKENIZER_FILE) : null;
  const tokenizerFile = options.tokenizerFile === undefined ? beside : options.tokenizerFile;
  let tokenizerJson: string | null = null;
  let tokenizerKind: string | null = null;
  let bos: number | null = null;
  let eos: number | null = null;
  const bytes = tokenizerFile === null ? null : await readFile(tokenizerFile).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (bytes === null) {
    warnings.push(`no ${LLAMA2C_TOKENIZER_FILE} beside the checkpoint: perplexity, tasks and samples will be skipped for this model`);
  } else {
    const pieces = readLlama2cTokenizer(bytes, plan.config.vocabSize, tokenizerFile as string);
    tokenizerJson = JSON.stringify(llama2cTokenizerJson(pieces));
    const t = tokenizerReport(tokenizerJson, tokenizerFile as string, {}, {}, plan.config.vocabSize);
    tokenizerKind = t.kind;
    warnings.push(...t.warnings);
    bos = t.bosTokenId;
    eos = t.eosTokenId;
  }
  const { config } = plan;
  const shapes = decoderWeightShapes(config);
  const sources = new Map<string, TensorSource>();
  let done = 0;
  for (const t of plan.tensors) {
    sources.set(t.name, {
      dtype: 'float32',
      dims: shapes.get(t.name)!,
      read: async () => {
        const source = await io.open();
        try {
          const values = await readLlama2cTensor(source, config, t);
          options.onProgress?.(++done / plan.tensors.length);
          return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
        } finally {
          await io.done(source);
        }
      },
    });
  }
  return {
    onnx: { model: buildDecoder(config, new Map(), { sources }), sources },
    config,
    weightDtype: 'float32',
    hfConfig: toHfConfig(config, { bosTokenId: bos, eosTokenId: eos, torchDtype: 'float32' }),
    tokenizerJson,
    tokenizerConfigJson: null,
    report: { format: 'llama2c', architecture: 'llama', parameters: plan.parameters, dtypes: { F32: plan.tensors.length }, tokenizerKind, warnings },
  };
}

