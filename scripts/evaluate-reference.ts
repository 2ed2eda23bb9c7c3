/** `npm run evaluate:reference [-- DIR]`: re-score a model folder (default models/ref-base) on the test split. */
import path from 'node:path';
import { evaluateModelFolder, referenceModelDir } from '@distillery/reference';

const dir = path.resolve(process.argv[2] ?? referenceModelDir());
const r = await evaluateModelFolder(dir);
console.log(`${dir}`);
console.log(`test perplexity ${r.test.perplexity.toFixed(2)} over ${r.test.tokens} tokens (window ${r.window}, stride ${r.stride})`);
console.log(`unigram baseline ${r.unigramTestPerplexity.toFixed(2)}`);
