/**
 * Re-scores a committed model folder on the bundled test split exactly as training scored
 * it (same split seed, window and stride), so the figures in training.json can be checked
 * against the weights as stored (float16), not only as trained (float32).
 */
import { splitBundledCorpora } from '@distillery/data';
import { modelPerplexity, unigramPerplexity, type PerplexityResult } from '@distillery/eval';
import { readModelFolder } from './model-folder';
import { referenceRecipe, type ReferenceRecipe } from './recipe';

export interface FolderEvaluation {
  test: PerplexityResult;
  unigramTestPerplexity: number;
  window: number;
  stride: number;
}

export async function evaluateModelFolder(dir: string, opts: { maxTestTokens?: number } = {}): Promise<FolderEvaluation> {
  const folder = await readModelFolder(dir);
  const recipe = (folder.training?.recipe as ReferenceRecipe | undefined) ?? referenceRecipe();
  const split = splitBundledCorpora(recipe.splitSeed);
  const train = folder.tokenizer.encodeDocuments(split.train.map((d) => d.text));
  const all = folder.tokenizer.encodeDocuments(split.test.map((d) => d.text));
  const test = opts.maxTestTokens ? all.subarray(0, opts.maxTestTokens) : all;
  const window = Math.min(recipe.evalWindow, folder.config.maxPositions);
  const stride = Math.min(recipe.evalStride, window);
  return {
    test: await modelPerplexity(folder.model, test, { window, stride }),
    unigramTestPerplexity: unigramPerplexity(train, test, folder.tokenizer.vocabSize),
    window,
    stride,
  };
}
