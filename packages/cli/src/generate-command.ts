/**
 * `distillery generate`: continues a prompt (text through the folder's tokenizer.json, or
 * token ids) with one of our model folders on ONNX Runtime, greedy or sampled, and prints
 * the new ids and their text.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createDecoderSession, generate, loadTokenizer, readDecoderConfig } from '@distillery/nn';
import { readModel } from '@distillery/onnx';
import { positiveInt, UsageError } from './usage-error';

function parseIds(text: string, vocabSize: number): number[] {
  const parts = text.trim().split(/[\s,]+/).filter(Boolean);
  if (parts.length === 0) throw new UsageError('--ids is empty');
  return parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new UsageError(`--ids: "${p}" is not a token id`);
    const id = Number(p);
    if (id >= vocabSize) throw new UsageError(`--ids: ${id} is not below the model's vocabulary size ${vocabSize}`);
    return id;
  });
}

export async function generateCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      prompt: { type: 'string' },
      ids: { type: 'string' },
      'max-new-tokens': { type: 'string' },
      greedy: { type: 'boolean' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      seed: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError(`generate takes one model folder, got ${positionals.length}`);
  if ((values.prompt === undefined) === (values.ids === undefined)) throw new UsageError('give exactly one of --prompt TEXT or --ids "1 2 3"');
  const maxNewTokens = positiveInt(values['max-new-tokens'], '--max-new-tokens');
  if (maxNewTokens === undefined) throw new UsageError('generate needs --max-new-tokens N');
  let temperature = 0;
  if (values.temperature !== undefined) {
    if (values.greedy) throw new UsageError('--greedy and --temperature exclude each other');
    temperature = Number(values.temperature);
    if (!(temperature > 0) || !Number.isFinite(temperature)) throw new UsageError(`--temperature must be a positive number, got "${values.temperature}"`);
  }
  const topK = positiveInt(values['top-k'], '--top-k');
  if (topK !== undefined && temperature === 0) throw new UsageError('--top-k needs --temperature (greedy decoding takes the top token)');
  const seed = values.seed === undefined ? 0 : Number(values.seed);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got "${values.seed}"`);

  const dir = positionals[0]!;
  const modelFile = path.join(dir, 'onnx', 'model.onnx');
  const model = await readModel(modelFile).catch((error: Error) => {
    throw new UsageError(`${dir} is not a model folder: ${modelFile}: ${error.message}`);
  });
  const config = readDecoderConfig(model);
  if (!config) throw new UsageError(`${modelFile} carries no decoder config (not a decoder built or imported by Distillery)`);
  const tokenizer = loadTokenizer(JSON.parse(await readFile(path.join(dir, 'tokenizer.json'), 'utf8')));
  const prompt = values.ids !== undefined ? parseIds(values.ids, config.vocabSize) : tokenizer.encode(values.prompt!);
  if (prompt.length === 0) throw new UsageError('--prompt encodes to no tokens');
  if (prompt.length >= config.maxPositions) throw new UsageError(`the prompt has ${prompt.length} tokens; the model's context is ${config.maxPositions}`);
  const session = await createDecoderSession(model);
  try {
    const ids = await generate(session, config, prompt, { maxNewTokens, temperature, topK, seed });
    print(`prompt ids: ${prompt.join(' ')}`);
    print(`ids: ${ids.join(' ')}`);
    print(`text: ${tokenizer.decode(ids)}`);
  } finally {
    await session.release();
  }
}
