/**
 * Two row orders of the q/k projections. Meta's Llama checkpoints (and llama2.c, which
 * rotates adjacent pairs (x_2i, x_2i+1) in run.c) interleave each head's rotary pairs;
 * Hugging Face's rotate_half, which our builder uses, pairs x_i with x_{i+hd/2}. Hugging
 * Face's convert_llama_weights_to_hf.py `permute` maps the first to the second: within a
 * head, interleaved row 2i + p becomes row p * hd/2 + i.
 */

/** Rows of W [nHeads * headDim, cols] (row-major) from interleaved pairs to rotate_half halves. */
export function interleavedToHalves(w: Float32Array, nHeads: number, headDim: number, cols: number): Float32Array {
  return permuteRows(w, nHeads, headDim, cols, (i, p) => [2 * i + p, p * (headDim / 2) + i]);
}

/** The inverse of {@link interleavedToHalves}. */
export function halvesToInterleaved(w: Float32Array, nHeads: number, headDim: number, cols: number): Float32Array {
  return permuteRows(w, nHeads, headDim, cols, (i, p) => [p * (headDim / 2) + i, 2 * i + p]);
}

function permuteRows(w: Float32Array, nHeads: number, headDim: number, cols: number, map: (i: number, p: number) => [number, number]): Float32Array {
  if (w.length !== nHeads * headDim * cols) throw new Error(`rotary permutation: ${w.length} values, expected ${nHeads} x ${headDim} x ${cols}`);
  const out = new Float32Array(w.length);
  const half = headDim / 2;
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < half; i++) {
      for (let p = 0; p < 2; p++) {
        const [from, to] = map(i, p);
        out.set(w.subarray((h * headDim + from) * cols, (h * headDim + from + 1) * cols), (h * headDim + to) * cols);
      }
    }
  }
  return out;
}
