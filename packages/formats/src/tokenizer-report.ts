/**
 * The tokenizer side of an import report: what kind of tokenizer.json came with the model,
 * and where config.json's bos/eos/pad ids disagree with it (the tokenizer is trusted; the
 * disagreement becomes a warning and the ids to use are the tokenizer's).
 */
import { compareConfigTokenIds, loadTokenizer, type ModelConfigIds, type Tokenizer, type TokenizerConfigTokens } from '@distillery/nn';
import { FormatError } from './format-error';

export interface TokenizerReport {
  readonly tokenizer: Tokenizer;
  readonly kind: string;
  readonly warnings: string[];
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
}

/** A short name for the tokenizer's model and how it splits text. */
export function tokenizerKind(json: unknown, tokenizer: Tokenizer): string {
  const model = (json as { model?: { type?: unknown; byte_fallback?: unknown } }).model;
  const type = typeof model?.type === 'string' ? model.type : tokenizer.model.constructor.name.replace(/TokenModel$/, '');
  if (type !== 'BPE') return type;
  if (tokenizer.model.acceptsRawBytes) return 'BPE (byte-level)';
  return model?.byte_fallback === true ? 'BPE (SentencePiece-style, byte fallback)' : 'BPE';
}

export function tokenizerReport(
  tokenizerJson: string,
  file: string,
  config: ModelConfigIds = {},
  tokenizerConfig: TokenizerConfigTokens = {},
  modelVocabSize?: number,
): TokenizerReport {
  let json: unknown;
  let tokenizer: Tokenizer;
  try {
    json = JSON.parse(tokenizerJson);
    tokenizer = loadTokenizer(json);
  } catch (error) {
    throw new FormatError(file, '(tokenizer)', `not a usable tokenizer.json: ${(error as Error).message}`);
  }
  if (modelVocabSize !== undefined && tokenizer.vocabSize > modelVocabSize) {
    throw new FormatError(file, 'model.vocab', `the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${modelVocabSize} embedding rows; ids past ${modelVocabSize - 1} would fail`);
  }
  const compared = compareConfigTokenIds(config, tokenizer, tokenizerConfig);
  const warnings = [...compared.disagreements.map((d) => d.message), ...compared.warnings];
  if (modelVocabSize !== undefined && tokenizer.vocabSize < modelVocabSize) {
    warnings.push(`the model has ${modelVocabSize} embedding rows and the tokenizer ${tokenizer.vocabSize} tokens; the extra rows are never produced by encoding`);
  }
  return { tokenizer, kind: tokenizerKind(json, tokenizer), warnings, bosTokenId: compared.tokens.bos?.id ?? null, eosTokenId: compared.tokens.eos?.id ?? null };
}
