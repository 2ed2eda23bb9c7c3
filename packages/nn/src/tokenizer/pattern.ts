import { compileOniguruma, escapeRegExp, RegexTranslationError } from './oniguruma-regex';
import { TokenizerJsonError, type PatternConfig } from './tokenizer-json-error';

/** The global RegExp of a `{"String"}` (literal) or `{"Regex"}` (Oniguruma) pattern at `path`. */
export function compilePattern(pattern: PatternConfig, path: string): RegExp {
  if ('String' in pattern) {
    if (pattern.String.length === 0) throw new TokenizerJsonError(`${path}.String must not be empty`);
    return new RegExp(escapeRegExp(pattern.String), 'gu');
  }
  try {
    return compileOniguruma(pattern.Regex);
  } catch (error) {
    if (error instanceof RegexTranslationError) throw new TokenizerJsonError(`${path}.Regex ${JSON.stringify(pattern.Regex)}: ${error.message}`);
    throw error;
  }
}
