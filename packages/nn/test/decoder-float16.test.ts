import { describe, expect, it } from 'vitest';
import { float16ArrayToFloat32, float32ToFloat16Array, tensorData } from '@distillery/onnx';
import {
  buildDecoder,
  createDecoderSession,
  decoderPreset,
  initDecoderWeights,
  referenceForward,
  runDecoder,
  type DecoderWeights,
} from '../src/decoder/index';

describe('buildDecoder with float16 weights', () => {
  it('stores half initializers, loads in ORT and matches the reference on fp16-rounded weights', async () => {
    const c = decoderPreset('tiny', { tieEmbeddings: true });
    const w = initDecoderWeights(c, 4, 0.2);
    const model = buildDecoder(c, w, { weightDtype: 'float16' });
    const embed = model.graph.initializers.find((t) => t.name === 'model.embed_tokens.weight')!;
    expect(embed.dtype).toBe('float16');
    expect(model.graph.initializers.filter((t) => t.name.endsWith('.weight')).every((t) => t.dtype === 'float16')).toBe(true);
    expect(model.graph.nodes.filter((n) => n.opType === 'Cast' && n.inputs[0]!.endsWith('.weight'))).toHaveLength(w.size);
    const weightBytes = (m: typeof model): number =>
      m.graph.initializers.filter((t) => t.name.endsWith('.weight')).reduce((s, t) => s + t.raw.byteLength, 0);
    expect(weightBytes(model) * 2).toBe(weightBytes(buildDecoder(c, w)));
    // The stored halves are exactly the rounded weights.
    const stored = tensorData(embed) as Uint16Array;
    expect(Array.from(stored)).toEqual(Array.from(float32ToFloat16Array(w.get('model.embed_tokens.weight')!)));

    const rounded: DecoderWeights = new Map([...w].map(([k, v]) => [k, float16ArrayToFloat32(float32ToFloat16Array(v))]));
    const session = await createDecoderSession(model);
    const ids = [[1, 2, 3, 40, 50], [60, 7, 7, 7, 0]];
    const out = await runDecoder(session, c, { inputIds: ids });
    expect(session.outputNames).toContain('logits');
    const ref = referenceForward(c, rounded, ids);
    let d = 0;
    ref.logits.forEach((row, b) => row.forEach((l, s) => l.forEach((v, k) => (d = Math.max(d, Math.abs(v - out.logits[(b * 5 + s) * c.vocabSize + k]!))))));
    expect(out.logits).toBeInstanceOf(Float32Array);
    expect(d).toBeLessThanOrEqual(1e-4);
    // ...and the rounding is visible: unrounded weights would not match this closely.
    const exact = referenceForward(c, w, ids);
    let e = 0;
    exact.logits.forEach((row, b) => row.forEach((l, s) => l.forEach((v, k) => (e = Math.max(e, Math.abs(v - out.logits[(b * 5 + s) * c.vocabSize + k]!))))));
    expect(e).toBeGreaterThan(1e-4);
  });
});
