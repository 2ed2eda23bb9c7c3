/**
 * transformers.js as the outside reference for our model folders: load a folder from local
 * files only (nothing is fetched) and answer the greedy tokens it generates after a prompt.
 */
import { AutoModelForCausalLM, Tensor, env } from '@huggingface/transformers';

/** Greedy tokens transformers.js generates from the model folder `name` under `root`, after `prompt`. */
export async function transformersGreedy(root: string, name: string, prompt: readonly number[], maxNewTokens: number): Promise<number[]> {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = root;
  const model = await AutoModelForCausalLM.from_pretrained(name, { dtype: 'fp32', device: 'cpu' });
  try {
    const i64 = (v: readonly number[]) => new Tensor('int64', BigInt64Array.from(v.map(BigInt)), [1, v.length]);
    const out = (await model.generate({ input_ids: i64(prompt), attention_mask: i64(prompt.map(() => 1)), max_new_tokens: maxNewTokens, do_sample: false })) as Tensor;
    return (out.tolist() as bigint[][])[0]!.slice(prompt.length).map(Number);
  } finally {
    await model.dispose();
  }
}
