/**
 * The committed reference model, checked as it is stored: it loads, it is a language
 * model (far below the unigram baseline on held-out text), its folder is what
 * transformers.js and @huggingface/tokenizers expect, and its record is complete.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoModelForCausalLM, AutoTokenizer, env } from '@huggingface/transformers';
import { splitBundledCorpora } from '@distillery/data';
import { createDecoderSession, generate, parameterCount, type DecoderSession } from '@distillery/nn';
import { inspectModel } from '@distillery/onnx';
import { evaluateModelFolder, readModelFolder, referenceModelDir, referenceRecipe, type ModelFolder } from '../src/index';

const dir = referenceModelDir();
let folder: ModelFolder;
let session: DecoderSession;

beforeAll(async () => {
  folder = await readModelFolder(dir);
  session = await createDecoderSession(folder.model);
});
afterAll(async () => {
  await session?.release();
});

describe('models/ref-base', () => {
  it('records how it was made: command, seed, split hashes, recipe, figures', () => {
    const t = folder.training as Record<string, any>;
    expect(t.command).toBe('npm run train:reference');
    const recipe = referenceRecipe();
    expect(t.recipe.seed).toBe(recipe.seed);
    expect(t.recipe.steps).toBe(recipe.steps);
    expect(t.recipe.config).toEqual({ ...recipe.config, vocabSize: folder.tokenizer.vocabSize });
    expect(t.split.hashes).toEqual(splitBundledCorpora(recipe.splitSeed).descriptor.hashes);
    expect(t.test.perplexity).toBeLessThan(t.unigramTestPerplexity / 5);
    expect(folder.config).toEqual(t.recipe.config);
  });

  it('stores float16 weights and has the parameter count of its config', () => {
    const info = inspectModel(folder.model);
    expect(info.parameterCount).toBeGreaterThanOrEqual(parameterCount(folder.config));
    expect(info.bytesByDtype.float16).toBeGreaterThan(2 * parameterCount(folder.config) * 0.99);
    expect(info.linearLayers.filter((l) => l.role === 'q')).toHaveLength(folder.config.nLayers);
  });

  it('is far below the unigram baseline on held-out text, as stored', async () => {
    const r = await evaluateModelFolder(dir, { maxTestTokens: 6000 });
    expect(r.test.perplexity).toBeLessThan(r.unigramTestPerplexity / 5);
  });

  it('loads in transformers.js, whose tokenizer and greedy continuation agree with ours', async () => {
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = path.dirname(dir);
    const name = path.basename(dir);
    const tok = await AutoTokenizer.from_pretrained(name);
    const text = 'Call me Ishmael. Some years ago, never mind how long precisely';
    const ids = folder.tokenizer.encode(text);
    expect(Array.from(tok.encode(text, { add_special_tokens: false }) as number[])).toEqual(ids);

    const model = await AutoModelForCausalLM.from_pretrained(name, { dtype: 'fp32', device: 'cpu' });
    try {
      const prompt = folder.tokenizer.encode('The whale');
      const mine = await generate(session, folder.config, prompt, { maxNewTokens: 8 });
      const input = tok('The whale', { add_special_tokens: false });
      const out = (await model.generate({ ...input, max_new_tokens: 8, do_sample: false })) as { tolist(): bigint[][] };
      const theirs = out.tolist()[0]!.slice(prompt.length).map(Number);
      expect(theirs).toEqual(mine);
      expect(folder.tokenizer.decode(mine).trim().length).toBeGreaterThan(0);
    } finally {
      await model.dispose();
    }
  });
});
