/**
 * Two row orders of the q/k projections. Meta's Llama checkpoints, llama2.c (run.c rotates
 * adjacent pairs (x_2i, x_2i+1)) and llama.cpp's GGUF tensors interleave each head's rotary
 * pairs; Hugging Face's rotate_half, which our builder uses, pairs x_i with x_{i+hd/2}. Hugging
 * Face's convert_llama_weights_to_hf.py `permute` (and its inverse, LlamaModel.permute in
 * llama.cpp's convert_hf_to_gguf.py) map one to the other: within a head, interleaved row
 * 2i + p is rotate_half row p * hd/2 + i.
 */

/** The rotate_half row that interleaved row `row` of a [nHeads * headDim, ...] projection holds. */
export function halvesRow(row: number, headDim: number): number {
  const r = row % headDim;
  return row - r + (r % 2) * (headDim / 2) + Math.floor(r / 2);
}

/** Rows of W [nHeads * headDim, cols] (row-major) from interleaved pairs to rotate_half halves. */
export function interleavedToHalves(w: Float32Array, nHeads: number, headDim: number, cols: number): Float32Array {
  return permuteRows(w, nHeads, headDim, cols, 'to-halves');
}

/** The inverse of {@link interleavedToHalves}. */
export function halvesToInterleaved(w: Float32Array, nHeads: number, headDim: number, cols: number): Float32Array {
  return permuteRows(w, nHeads, headDim, cols, 'to-interleaved');
}

function permuteRows(w: Float32Array, nHeads: number, headDim: number, cols: number, direction: 'to-halves' | 'to-interleaved'): Float32Array {
  if (w.length !== nHeads * headDim * cols) throw new Error(`rotary permutation: ${w.length} values, expected ${nHeads} x ${headDim} x ${cols}`);
  if (headDim % 2 !== 0) throw new Error(`rotary permutation: head size ${headDim} is odd`);
  const out = new Float32Array(w.length);
  for (let row = 0; row < nHeads * headDim; row++) {
    const [from, to] = direction === 'to-halves' ? [row, halvesRow(row, headDim)] : [halvesRow(row, headDim), row];
    out.set(w.subarray(from * cols, (from + 1) * cols), to * cols);
  }
  return out;
}
