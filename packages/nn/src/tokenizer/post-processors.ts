import { z } from 'zod';
import { componentType, readComponent, TokenizerJsonError, unsupported } from './tokenizer-json-error';

/**
 * Post-processors of tokenizer.json: they add the special tokens around an encoded
 * sequence (BOS for Llama, [CLS] ... [SEP] for BERT, <s> ... </s> for RoBERTa).
 */
export interface PostProcessor {
  /** `ids` of one sequence with the special tokens added (a new array when anything changes). */
  single(ids: number[]): number[];
  /** Special-token ids placed before and after a single sequence (for reports and BOS/EOS checks). */
  readonly singleAround: { readonly before: readonly number[]; readonly after: readonly number[] };
}

const NONE: PostProcessor = { single: (ids) => ids, singleAround: { before: [], after: [] } };

const tokenWithId = z.tuple([z.string(), z.number().int().nonnegative()]);
const bert = z.object({ type: z.literal('BertProcessing'), sep: tokenWithId, cls: tokenWithId });
const roberta = z.object({
  type: z.literal('RobertaProcessing'),
  sep: tokenWithId,
  cls: tokenWithId,
  trim_offsets: z.boolean().optional(),
  add_prefix_space: z.boolean().optional(),
});
const templatePiece = z.union([
  z.object({ SpecialToken: z.object({ id: z.string(), type_id: z.number().int() }) }),
  z.object({ Sequence: z.object({ id: z.enum(['A', 'B']), type_id: z.number().int() }) }),
]);
const template = z.object({
  type: z.literal('TemplateProcessing'),
  single: z.array(templatePiece),
  pair: z.array(templatePiece).optional(),
  special_tokens: z.record(z.string(), z.object({ id: z.string(), ids: z.array(z.number().int().nonnegative()), tokens: z.array(z.string()) })).default({}),
});
const sequence = z.object({ type: z.literal('Sequence'), processors: z.array(z.unknown()) });

function around(before: number[], after: number[]): PostProcessor {
  if (before.length === 0 && after.length === 0) return NONE;
  return { single: (ids) => [...before, ...ids, ...after], singleAround: { before, after } };
}

function parseTemplate(json: unknown, path: string): PostProcessor {
  const config = readComponent(template, json, path);
  const before: number[] = [];
  const after: number[] = [];
  let seenSequence = false;
  config.single.forEach((piece, i) => {
    if ('Sequence' in piece) {
      if (piece.Sequence.id !== 'A') throw new TokenizerJsonError(`${path}.single[${i}] uses sequence "B" in the single-sequence template`);
      if (seenSequence) throw new TokenizerJsonError(`${path}.single[${i}] repeats sequence "A"`);
      seenSequence = true;
      return;
    }
    const special = config.special_tokens[piece.SpecialToken.id];
    if (special === undefined) throw new TokenizerJsonError(`${path}.single[${i}] names special token ${JSON.stringify(piece.SpecialToken.id)}, missing from ${path}.special_tokens`);
    (seenSequence ? after : before).push(...special.ids);
  });
  if (!seenSequence) throw new TokenizerJsonError(`${path}.single has no sequence "A"`);
  return around(before, after);
}

/** The post-processor described by `json` at `path`; null adds nothing. */
export function parsePostProcessor(json: unknown, path = 'post_processor'): PostProcessor {
  if (json === null || json === undefined) return NONE;
  const type = componentType(json, path);
  switch (type) {
    case 'ByteLevel':
      // Only trims offsets; ids are unchanged.
      return NONE;
    case 'TemplateProcessing':
      return parseTemplate(json, path);
    case 'BertProcessing': {
      const { cls, sep } = readComponent(bert, json, path);
      return around([cls[1]], [sep[1]]);
    }
    case 'RobertaProcessing': {
      const { cls, sep } = readComponent(roberta, json, path);
      return around([cls[1]], [sep[1]]);
    }
    case 'Sequence': {
      const steps = readComponent(sequence, json, path).processors.map((step, i) => parsePostProcessor(step, `${path}.processors[${i}]`));
      // Each step wraps the result of the previous one: later prefixes go outside earlier ones.
      const before = [...steps].reverse().flatMap((step) => step.singleAround.before);
      const after = steps.flatMap((step) => step.singleAround.after);
      return around(before, after);
    }
    default:
      throw unsupported(path, type);
  }
}
