/**
 * Writes a GPT-2 model as transformers' save_pretrained does: one model.safetensors with the
 * `transformer.`-prefixed checkpoint names (Conv1D weights [in, out], no lm_head: it is
 * tied to wte) and a GPT2Config config.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gpt2WeightShapes, toGpt2HfConfig, type Gpt2Config, type Gpt2Weights } from '@distillery/nn';
import { writeSafetensors, type WritableDtype } from './safetensors-writer';
import { SINGLE_FILE } from './safetensors-shards';

export async function exportGpt2Folder(c: Gpt2Config, weights: Gpt2Weights, dir: string, options: { dtype?: WritableDtype } = {}): Promise<void> {
  const dtype = options.dtype ?? 'F32';
  await mkdir(dir, { recursive: true });
  const tensors = [...gpt2WeightShapes(c)].map(([name, shape]) => ({ name, dtype, shape }));
  await writeSafetensors(path.join(dir, SINGLE_FILE), tensors, (name) => weights.get(name)!, { format: 'pt' });
  const torchDtype = dtype === 'F32' ? 'float32' : dtype === 'F16' ? 'float16' : 'bfloat16';
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(toGpt2HfConfig(c, { torchDtype }), null, 2) + '\n');
}
