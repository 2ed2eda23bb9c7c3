/**
 * A llama2.c checkpoint (with the tokenizer.bin beside it, when there is one) into the parts
 * of our model folder: the ONNX decoder in float32 (as the checkpoint stores it), its HF
 * config.json, the tokenizer as tokenizer.json, and the import report.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildDecoder, toHfConfig } from '@distillery/nn';
import { completeModel } from '@distillery/onnx';
import type { ByteSource } from '../byte-source';
import type { ConvertedModel } from '../safetensors/convert-hf-folder';
import { tokenizerReport } from '../tokenizer-report';
import { llama2cTokenizerJson, readLlama2cTokenizer } from './llama2c-tokenizer';
import { readLlama2c } from './read-llama2c';

export const LLAMA2C_TOKENIZER_FILE = 'tokenizer.bin';

export interface ConvertLlama2cOptions {
  /** tokenizer.bin to read; default the one beside a checkpoint file; null for none. */
  tokenizerFile?: string | null;
  onProgress?: (fraction: number) => void;
}

/** `input` is the checkpoint's path or its bytes (then name the tokenizer.bin, if any, in the options). */
export async function convertLlama2c(input: string | ByteSource, options: ConvertLlama2cOptions = {}): Promise<ConvertedModel> {
  const imported = await readLlama2c(input, options.onProgress);
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
    const pieces = readLlama2cTokenizer(bytes, imported.config.vocabSize, tokenizerFile as string);
    tokenizerJson = JSON.stringify(llama2cTokenizerJson(pieces));
    const t = tokenizerReport(tokenizerJson, tokenizerFile as string, {}, {}, imported.config.vocabSize);
    tokenizerKind = t.kind;
    warnings.push(...t.warnings);
    bos = t.bosTokenId;
    eos = t.eosTokenId;
  }
  const model = buildDecoder(imported.config, imported.weights, { weightDtype: 'float32' });
  const tensors = imported.weights.size;
  imported.weights.clear();
  return {
    onnx: completeModel(model),
    config: imported.config,
    weightDtype: 'float32',
    hfConfig: toHfConfig(imported.config, { bosTokenId: bos, eosTokenId: eos, torchDtype: 'float32' }),
    tokenizerJson,
    tokenizerConfigJson: null,
    report: { format: 'llama2c', architecture: 'llama', parameters: imported.parameters, dtypes: { F32: tensors }, tokenizerKind, warnings },
  };
}

