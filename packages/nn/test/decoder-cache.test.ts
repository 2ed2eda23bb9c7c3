import { describe, expect, it } from 'vitest';
import {
  buildDecoder,
  createDecoderSession,
  decoderPreset,
  initDecoderWeights,
  logitsAt,
  referenceForward,
  runDecoder,
  type KvCache,
} from '../src/decoder/index';

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

// Head size 8 takes one GroupQueryAttention per layer, 6 the standard-op attention (usesFusedAttention).
const paths: [string, { headDim?: number }][] = [
  ['GroupQueryAttention', {}],
  ['standard-op attention', { headDim: 6 }],
];

describe.each(paths)('KV cache, %s', (_path, hd) => {
  it.each([
    ['GQA untied', decoderPreset('tiny', hd)],
    ['MHA tied', decoderPreset('tiny', { nKvHeads: 4, tieEmbeddings: true, ...hd })],
  ])('%s: token-by-token decoding equals one full forward (<= 1e-4)', async (_n, c) => {
    const w = initDecoderWeights(c, 5, 0.2);
    const session = await createDecoderSession(buildDecoder(c, w));
    const ids = [
      [7, 1, 33, 20, 4, 61, 12, 9],
      [2, 50, 50, 3, 19, 8, 40, 11],
    ];
    const full = await runDecoder(session, c, { inputIds: ids });
    // A 3-token prefix, then one token at a time through the cache.
    let step = await runDecoder(session, c, { inputIds: ids.map((r) => r.slice(0, 3)) });
    for (let s = 0; s < 3; s++) for (let b = 0; b < 2; b++) expect(maxDiff(logitsAt(step, c, b, s), logitsAt(full, c, b, s))).toBeLessThanOrEqual(1e-4);
    for (let s = 3; s < 8; s++) {
      step = await runDecoder(session, c, { inputIds: ids.map((r) => [r[s]!]), past: step.present });
      expect(step.present.length).toBe(s + 1);
      for (let b = 0; b < 2; b++) expect(maxDiff(logitsAt(step, c, b, 0), logitsAt(full, c, b, s))).toBeLessThanOrEqual(1e-4);
    }
    for (let l = 0; l < c.nLayers; l++) {
      expect(maxDiff(step.present.layers[l]!.key, full.present.layers[l]!.key)).toBeLessThanOrEqual(1e-4);
      expect(maxDiff(step.present.layers[l]!.value, full.present.layers[l]!.value)).toBeLessThanOrEqual(1e-4);
    }
  });

  it('a multi-token chunk on top of a cache matches the reference given the same cache', async () => {
    const c = decoderPreset('tiny', { nKvHeads: 1, ...hd });
    const w = initDecoderWeights(c, 9, 0.2);
    const session = await createDecoderSession(buildDecoder(c, w));
    const first = referenceForward(c, w, [[5, 6, 7, 8]]);
    const past: KvCache = first.present;
    const out = await runDecoder(session, c, { inputIds: [[9, 10, 11]], past });
    const ref = referenceForward(c, w, [[9, 10, 11]], { past });
    for (let s = 0; s < 3; s++) expect(maxDiff(logitsAt(out, c, 0, s), ref.logits[0]![s]!)).toBeLessThanOrEqual(1e-4);
  });
});

describe.each(paths)('attention_mask padding, %s', (_path, hd) => {
  it('a left-padded row gives the same logits for its real tokens as the sequence alone, also while decoding', async () => {
    const c = decoderPreset('tiny', hd);
    const w = initDecoderWeights(c, 21, 0.2);
    const session = await createDecoderSession(buildDecoder(c, w));
    const short = [14, 3, 27];
    const long = [5, 44, 9, 18, 2];
    const PAD = 0;
    // HF convention: positions count real tokens only; padded slots get any position.
    const batch = await runDecoder(session, c, {
      inputIds: [[PAD, PAD, ...short], long],
      attentionMask: [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]],
      positionIds: [[1, 1, 0, 1, 2], [0, 1, 2, 3, 4]],
    });
    const alone = await runDecoder(session, c, { inputIds: [short] });
    for (let s = 0; s < 3; s++) expect(maxDiff(logitsAt(batch, c, 0, s + 2), logitsAt(alone, c, 0, s))).toBeLessThanOrEqual(1e-4);
    // Padded query rows are fully masked: they come out finite (uniform attention), never NaN.
    expect(Array.from(logitsAt(batch, c, 0, 0)).every(Number.isFinite)).toBe(true);
    const longAlone = await runDecoder(session, c, { inputIds: [long] });
    expect(maxDiff(logitsAt(batch, c, 1, 4), logitsAt(longAlone, c, 0, 4))).toBeLessThanOrEqual(1e-4);

    // One more token through the cache, mask still hiding the padding.
    const next = await runDecoder(session, c, {
      inputIds: [[30], [31]],
      attentionMask: [[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]],
      positionIds: [[3], [5]],
      past: batch.present,
    });
    const aloneNext = await runDecoder(session, c, { inputIds: [[30]], past: alone.present });
    expect(maxDiff(logitsAt(next, c, 0, 0), logitsAt(aloneNext, c, 0, 0))).toBeLessThanOrEqual(1e-4);
    // The reference applies the same mask.
    const ref = referenceForward(c, w, [[PAD, PAD, ...short]], { attentionMask: [[0, 0, 1, 1, 1]], positionIds: [[1, 1, 0, 1, 2]] });
    expect(maxDiff(logitsAt(batch, c, 0, 4), ref.logits[0]![4]!)).toBeLessThanOrEqual(1e-4);
  });

  it('masking a middle token changes later logits exactly as the reference says', async () => {
    const c = decoderPreset('tiny', { nKvHeads: 4, ...hd });
    const w = initDecoderWeights(c, 2, 0.2);
    const session = await createDecoderSession(buildDecoder(c, w));
    const ids = [[3, 4, 5, 6]];
    const attentionMask = [[1, 0, 1, 1]];
    const out = await runDecoder(session, c, { inputIds: ids, attentionMask });
    const plain = await runDecoder(session, c, { inputIds: ids });
    expect(maxDiff(logitsAt(out, c, 0, 3), logitsAt(plain, c, 0, 3))).toBeGreaterThan(1e-3);
    const ref = referenceForward(c, w, ids, { attentionMask });
    expect(maxDiff(logitsAt(out, c, 0, 3), ref.logits[0]![3]!)).toBeLessThanOrEqual(1e-4);
  });
});
