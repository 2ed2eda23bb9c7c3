import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parameterCount as configParameterCount } from '@distillery/nn';
import { serializeModel, writeModel } from '@distillery/onnx';
import { externalLocations, fileSize, modelSize, parameterCount } from '../src';
import { tinyDecoder } from './tiny-decoder';

describe('model size', () => {
  const tiny = tinyDecoder(1);

  it('counts the .onnx file plus its external data, and parameters as the config predicts', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'eval-size-'));
    try {
      const ext = path.join(dir, 'ext', 'model.onnx');
      const inline = path.join(dir, 'inline.onnx');
      await writeModel(tiny.model, ext, { externalData: true });
      await writeModel(tiny.model, inline);
      const e = await fileSize(ext);
      expect(e.externalFiles).toEqual(['model.onnx.data']);
      expect(e.modelBytes).toBe((await stat(ext)).size);
      expect(e.externalBytes).toBe((await stat(`${ext}.data`)).size);
      expect(e.totalBytes).toBe(e.modelBytes + e.externalBytes);
      // Most weight bytes live in the data file.
      expect(e.externalBytes).toBeGreaterThan(configParameterCount(tiny.config) * 4 * 0.9);
      const i = await fileSize(inline);
      expect(i).toMatchObject({ externalBytes: 0, externalFiles: [] });
      expect(i.totalBytes).toBe((await stat(inline)).size);

      const m = await modelSize(ext);
      // The builder's own tensors (RoPE tables, shape constants) add to the learned weights.
      expect(m.parameters).toBeGreaterThanOrEqual(configParameterCount(tiny.config));
      expect(m.parameters).toBe(parameterCount(tiny.model));
      expect(m.weightBytes).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses external data outside the model folder', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'eval-size-'));
    try {
      const out = serializeModel(tiny.model, { externalLocation: '../evil.data' });
      expect(externalLocations(out.model)).toEqual(['../evil.data']);
      await writeFile(path.join(dir, 'm.onnx'), out.model);
      await expect(fileSize(path.join(dir, 'm.onnx'))).rejects.toThrow(/escapes the model's folder/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
