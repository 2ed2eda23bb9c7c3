/**
 * Every import becomes a model folder that transformers.js (local files only) loads and
 * generates with: a safetensors folder and a GGUF file are converted, then each folder's
 * greedy continuation from transformers.js equals our ONNX Runtime generation.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transformersGreedy } from '@distillery/e2e/transformers-greedy';
import { createDecoderSession, decoderPreset, generate, initDecoderWeights, type DecoderShape } from '@distillery/nn';
import { readModel, type Model } from '@distillery/onnx';
import { referenceModelDir } from '@distillery/reference';
import { convertHfFolder, exportGguf, exportHfFolder, importGguf, writeConvertedModel } from '../src/index';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'distillery-import-tjs-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const PROMPT = [5, 12, 40, 7, 90, 3];
const NEW_TOKENS = 10;

async function ourGreedy(model: Model, config: DecoderShape): Promise<number[]> {
  const session = await createDecoderSession(model);
  try {
    return await generate(session, config, PROMPT, { maxNewTokens: NEW_TOKENS });
  } finally {
    await session.release();
  }
}

describe('imported model folders load in transformers.js', () => {
  it('a converted safetensors folder (float16, grouped-query attention) generates our greedy tokens', async () => {
    const config = decoderPreset('tiny');
    const source = path.join(root, 'hf-source');
    await exportHfFolder(config, initDecoderWeights(config, 11, 0.3), source, { dtype: 'F16' });
    const converted = await convertHfFolder(source);
    const dir = path.join(root, 'from-safetensors');
    await writeConvertedModel(converted, dir);
    const ours = await ourGreedy(await readModel(path.join(dir, 'onnx', 'model.onnx')), converted.config);
    expect(ours).toHaveLength(NEW_TOKENS);
    expect(await transformersGreedy(root, 'from-safetensors', PROMPT, NEW_TOKENS)).toEqual(ours);
  });

  it('an imported GGUF file (F16 export of ref-base) generates our greedy tokens', async () => {
    const file = path.join(root, 'ref-base.gguf');
    await exportGguf(referenceModelDir(), file, 'f16');
    const dir = path.join(root, 'from-gguf');
    const imported = await importGguf(file, dir);
    const ours = await ourGreedy(await readModel(path.join(dir, 'onnx', 'model.onnx')), imported.config);
    expect(ours).toHaveLength(NEW_TOKENS);
    expect(await transformersGreedy(root, 'from-gguf', PROMPT, NEW_TOKENS)).toEqual(ours);
  });
});
