import type { Tokenizer } from './tokenizer';

/**
 * config.json names BOS/EOS/PAD by id; the tokenizer names them by token. Files in the
 * wild disagree (a config copied from a sibling model, ids shifted by added tokens).
 * The tokenizer is what produced the training text, so it is trusted; this reports
 * where the config says otherwise, for an importer to print and fix.
 */

export type SpecialTokenRole = 'bos' | 'eos' | 'pad';

export interface SpecialTokenChoice {
  readonly id: number;
  readonly token: string;
  /** Where the tokenizer's choice came from. */
  readonly source: 'tokenizer_config.json' | 'post_processor' | 'known token name';
}

export interface TokenIdDisagreement {
  readonly field: `${SpecialTokenRole}_token_id`;
  readonly configValue: number | readonly number[];
  readonly tokenizerId: number;
  readonly token: string;
  readonly message: string;
}

export interface ConfigTokenIdReport {
  readonly tokens: Readonly<Record<SpecialTokenRole, SpecialTokenChoice | null>>;
  readonly disagreements: readonly TokenIdDisagreement[];
  /** Ids the config names that the tokenizer does not have, or roles it cannot tell. */
  readonly warnings: readonly string[];
}

/** The fields of config.json this looks at. */
export interface ModelConfigIds {
  readonly bos_token_id?: number | readonly number[] | null;
  readonly eos_token_id?: number | readonly number[] | null;
  readonly pad_token_id?: number | readonly number[] | null;
}

/** tokenizer_config.json names special tokens as strings or as `{content: ...}` objects. */
export interface TokenizerConfigTokens {
  readonly bos_token?: string | { readonly content: string } | null;
  readonly eos_token?: string | { readonly content: string } | null;
  readonly pad_token?: string | { readonly content: string } | null;
}

const KNOWN_NAMES: Readonly<Record<SpecialTokenRole, readonly string[]>> = {
  bos: ['<s>', '<|begin_of_text|>', '<bos>', '<|startoftext|>', '<｜begin▁of▁sentence｜>', '[CLS]', '<|endoftext|>'],
  eos: ['</s>', '<|end_of_text|>', '<eos>', '<|endoftext|>', '<｜end▁of▁sentence｜>', '<|im_end|>', '[SEP]'],
  pad: ['<pad>', '[PAD]', '<|pad|>', '<｜▁pad▁｜>'],
};

function contentOf(value: string | { readonly content: string } | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : value.content;
}

/** The tokenizer's own BOS, EOS and PAD tokens, from tokenizer_config.json, the post-processor, then well-known names. */
export function tokenizerSpecialTokens(tokenizer: Tokenizer, tokenizerConfig: TokenizerConfigTokens = {}): Record<SpecialTokenRole, SpecialTokenChoice | null> {
  const choose = (role: SpecialTokenRole): SpecialTokenChoice | null => {
    const named = contentOf(tokenizerConfig[`${role}_token`]);
    if (named !== null) {
      const id = tokenizer.tokenToId(named);
      if (id !== undefined) return { id, token: named, source: 'tokenizer_config.json' };
    }
    const around = tokenizer.specialTokensAround;
    const added = role === 'bos' ? around.before : role === 'eos' ? around.after : [];
    if (added.length === 1) return { id: added[0], token: tokenizer.idToToken(added[0]) as string, source: 'post_processor' };
    for (const name of KNOWN_NAMES[role]) {
      const id = tokenizer.tokenToId(name);
      if (id !== undefined && tokenizer.addedTokens.some((token) => token.id === id && token.special)) return { id, token: name, source: 'known token name' };
    }
    return null;
  };
  return { bos: choose('bos'), eos: choose('eos'), pad: choose('pad') };
}

/** Compares config.json's bos/eos/pad ids with the tokenizer's tokens; the tokenizer wins. */
export function compareConfigTokenIds(config: ModelConfigIds, tokenizer: Tokenizer, tokenizerConfig: TokenizerConfigTokens = {}): ConfigTokenIdReport {
  const tokens = tokenizerSpecialTokens(tokenizer, tokenizerConfig);
  const disagreements: TokenIdDisagreement[] = [];
  const warnings: string[] = [];
  for (const role of ['bos', 'eos', 'pad'] as const) {
    const field = `${role}_token_id` as const;
    const value = config[field];
    if (value === null || value === undefined) continue;
    const ids = typeof value === 'number' ? [value] : [...value];
    for (const id of ids) {
      if (tokenizer.idToToken(id) === undefined) warnings.push(`config.json ${field} ${id} is not a token of the tokenizer (vocabulary ${tokenizer.vocabSize})`);
    }
    const choice = tokens[role];
    if (choice === null) {
      warnings.push(`config.json sets ${field} ${JSON.stringify(value)} but the tokenizer names no ${role.toUpperCase()} token to check it against`);
      continue;
    }
    if (ids.includes(choice.id)) continue;
    const found = ids.map((id) => `${id} (${JSON.stringify(tokenizer.idToToken(id) ?? null)})`).join(', ');
    disagreements.push({
      field,
      configValue: value,
      tokenizerId: choice.id,
      token: choice.token,
      message: `config.json ${field} is ${found} but the tokenizer's ${role.toUpperCase()} is ${JSON.stringify(choice.token)} = ${choice.id} (from ${choice.source}); using ${choice.id}`,
    });
  }
  return { tokens, disagreements, warnings };
}
