import { describe, expect, it } from 'vitest';
import { validate } from '@distillery/onnx';
import { causalLm, createSession, openScorer, type CausalLmSession } from '../src/index';
import { gpt2Style, halfCacheAndLogits, withoutCache } from './exporter-layouts';
import { tinyDecoder, tokenStream } from './tiny-decoder';

/* Evaluation and generation accept the interfaces other exporters write, with the same results as our own layout. */

const { model, config } = tinyDecoder(3);
const TOKENS = tokenStream(12, config.vocabSize, 5);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };
const argmax = (row: ArrayLike<number>): number => { let best = 0; for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i; return best; };

async function greedy(lm: CausalLmSession, prompt: number[], n: number, cached: boolean): Promise<number[]> {
  const out: number[] = [];
  let step = cached ? await lm.step(prompt) : null;
  let seq = [...prompt];
  for (let i = 0; i < n; i++) {
    const logits = step ? step.logits.subarray((step.logits.length / step.vocab - 1) * step.vocab) : (await lm.forward(seq)).logits.subarray((seq.length - 1) * config.vocabSize);
    const next = argmax(logits);
    out.push(next);
    seq = [...seq, next];
    if (step) step = await lm.step([next], step.present);
  }
  return out;
}

const VARIANTS = [
  { name: 'Optimum without a cache', build: withoutCache, cached: false, tolerance: 1e-4 },
  { name: 'ORT GPT-2 style (int32 ids, float mask, past_i stacked)', build: gpt2Style, cached: true, tolerance: 1e-4 },
  { name: 'float16 cache and logits', build: halfCacheAndLogits, cached: true, tolerance: 2e-2 },
];

describe('models from other exporters', () => {
  for (const variant of VARIANTS) {
    it(`${variant.name}: same logits, same greedy tokens, same perplexity scores as our layout`, async () => {
      const other = variant.build(model);
      expect(validate(other)).toEqual([]);
      const ours = causalLm(await createSession(model));
      const theirs = causalLm(await createSession(other));
      const a = await ours.forward(TOKENS);
      const b = await theirs.forward(TOKENS);
      expect(maxDiff(a.logits, b.logits)).toBeLessThanOrEqual(variant.tolerance);
      if (variant.cached) {
        const first = await theirs.step(TOKENS.slice(0, 7));
        const rest = await theirs.step(TOKENS.slice(7), first.present);
        expect(maxDiff(rest.logits, a.logits.subarray(7 * config.vocabSize))).toBeLessThanOrEqual(variant.tolerance);
      }
      expect(await greedy(theirs, TOKENS.slice(0, 4), 6, variant.cached)).toEqual(await greedy(ours, TOKENS.slice(0, 4), 6, true));

      const ids = Int32Array.from([...TOKENS.slice(0, 6), ...TOKENS.slice(6, 12)]);
      const [sa, sb] = [await openScorer(model), await openScorer(other)];
      const [ra, rb] = [await sa.score({ ids, batch: 2, length: 6 }), await sb.score({ ids, batch: 2, length: 6 })];
      expect(maxDiff(ra.targetLogprob, rb.targetLogprob)).toBeLessThanOrEqual(variant.tolerance * 10);
      await Promise.all([sa.release(), sb.release(), ours.session.release(), theirs.session.release()]);
    });
  }

  it('refuses a model with inputs it cannot feed, naming them', async () => {
    const odd = withoutCache(model);
    odd.graph.inputs.push({ name: 'token_type_ids', dtype: 'int64', shape: ['batch_size', 'sequence_length'] });
    odd.graph.nodes.push({ name: '/odd/Identity', opType: 'Identity', domain: '', inputs: ['token_type_ids'], outputs: ['odd_out'], attributes: {} });
    odd.graph.outputs.push({ name: 'odd_out', dtype: 'int64' });
    const session = await createSession(odd);
    expect(() => causalLm(session)).toThrow('model has inputs this evaluator cannot feed: token_type_ids');
  });
});
