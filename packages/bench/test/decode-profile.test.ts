import { describe, expect, it } from 'vitest';
import { buildDecoder, decoderPreset, initDecoderWeights } from '@distillery/nn';
import { serializeModel } from '@distillery/onnx';
import { profileDecode } from '../src/decode-profile';

describe('profileDecode', () => {
  it("attributes ORT's kernel time of the decode steps to operator types", async () => {
    const config = decoderPreset('tiny');
    const model = buildDecoder(config, initDecoderWeights(config, 3, 0.3));
    const p = await profileDecode(serializeModel(model).model, 4);
    const ops = p.kernels.map((k) => k.op);
    expect(ops).toContain('MatMul');
    expect(ops).toContain('GroupQueryAttention');
    expect(p.runMs).toBeGreaterThan(0);
    expect(p.stepMs).toBeGreaterThan(0);
    // Kernels run inside session.run: their sum cannot exceed it.
    expect(p.kernels.reduce((s, k) => s + k.ms, 0)).toBeLessThanOrEqual(p.runMs * 1.01);
    expect(p.kernels.every((k, i) => i === 0 || k.ms <= p.kernels[i - 1]!.ms)).toBe(true);
  });
});
