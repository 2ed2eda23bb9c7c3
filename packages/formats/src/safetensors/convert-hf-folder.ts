/**
 * A Hugging Face safetensors folder into the parts of our model folder: the ONNX decoder
 * (Optimum I/O names; float16 weights when every source weight was 16-bit, else float32)
 * with its weights read only when it is written (writeConvertedModel), the HF config.json
 * we write for it, the tokenizer files as they came, and the report.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildDecoder, toHfConfig, type DecoderConfig, type Gpt2Config, type HfLlamaConfig, type ModelConfigIds, type TokenizerConfigTokens } from '@distillery/nn';
import type { DeferredModel } from '@distillery/onnx';
import type { ImportReport } from '../import-report';
import { tokenizerReport } from '../tokenizer-report';
import { planHfFolder, type ImportHfOptions } from './import-hf-folder';
import { weightSources } from './weight-sources';
import { convertGpt2Folder } from './convert-gpt2-folder';
import { isGpt2Config } from './gpt2-hf-config';

export interface ConvertedModel {
  /** The ONNX model; its weights are read and converted as it is written or materialized. */
  readonly onnx: DeferredModel;
  readonly config: DecoderConfig | Gpt2Config;
  /** How the ONNX model stores its weights. */
  readonly weightDtype: 'float32' | 'float16';
  /** The config.json the model folder ships. */
  readonly hfConfig: HfLlamaConfig | Record<string, unknown>;
  readonly tokenizerJson: string | null;
  readonly tokenizerConfigJson: string | null;
  readonly report: ImportReport;
}

async function optionalText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export async function convertHfFolder(dir: string, options: ImportHfOptions = {}): Promise<ConvertedModel> {
  const json = await optionalText(path.join(dir, 'config.json'));
  if (json !== null) {
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(json);
    } catch {
      // planHfFolder names the malformed file.
    }
    if (isGpt2Config(parsed)) return convertGpt2Folder(dir, parsed as Record<string, unknown>, options);
  }
  const imported = await planHfFolder(dir);
  const warnings = [...imported.warnings];
  const rawConfig = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as ModelConfigIds & Record<string, unknown>;
  const tokenizerJson = await optionalText(path.join(dir, 'tokenizer.json'));
  const tokenizerConfigJson = await optionalText(path.join(dir, 'tokenizer_config.json'));
  let tokenizerKind: string | null = null;
  let bos = typeof rawConfig.bos_token_id === 'number' ? rawConfig.bos_token_id : null;
  let eos = typeof rawConfig.eos_token_id === 'number' ? rawConfig.eos_token_id : null;
  if (tokenizerJson === null) {
    warnings.push('no tokenizer.json in the folder: perplexity, tasks and samples will be skipped for this model');
  } else {
    const tokenizerConfig = tokenizerConfigJson === null ? {} : (JSON.parse(tokenizerConfigJson) as TokenizerConfigTokens);
    const t = tokenizerReport(tokenizerJson, path.join(dir, 'tokenizer.json'), rawConfig, tokenizerConfig, imported.config.vocabSize);
    tokenizerKind = t.kind;
    warnings.push(...t.warnings);
    bos = t.bosTokenId ?? bos;
    eos = t.eosTokenId ?? eos;
  }
  const { sources, weightDtype } = await weightSources(imported.weights, warnings, options.onProgress);
  const model = buildDecoder(imported.config, new Map(), { sources });
  const hfConfig = toHfConfig(imported.config, { bosTokenId: bos, eosTokenId: eos, torchDtype: weightDtype });
  return {
    onnx: { model, sources },
    config: imported.config,
    weightDtype,
    hfConfig,
    tokenizerJson,
    tokenizerConfigJson,
    report: { format: 'safetensors', architecture: imported.architecture, parameters: imported.parameters, dtypes: imported.dtypes, tokenizerKind, warnings },
  };
}
