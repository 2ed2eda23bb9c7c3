/**
 * Hugging Face stores a linear layer's weight as [out, in] (torch.nn.Linear computes
 * x W^T) and the LM head as [vocab, hidden]; our decoder multiplies x @ W with W [in, out].
 * Embeddings and norms are stored alike. The q/k rows need no permutation: Hugging Face's
 * Llama applies RoPE with rotate_half, pairing dimension i with i + head_dim/2
 * (transformers' modeling_llama.apply_rotary_pos_emb), which is the pairing our builder uses.
 */

/** True for weights stored transposed relative to ours. */
export function isHfTransposed(name: string): boolean {
  return name.endsWith('_proj.weight') || name === 'lm_head.weight';
}

/** Row-major [rows, cols] -> [cols, rows]. */
export function transpose2d(values: Float32Array, rows: number, cols: number): Float32Array;
export function transpose2d(values: Uint16Array, rows: number, cols: number): Uint16Array;
export function transpose2d(values: Float32Array | Uint16Array, rows: number, cols: number): Float32Array | Uint16Array {
  const out = values instanceof Float32Array ? new Float32Array(values.length) : new Uint16Array(values.length);
  // Blocks keep both reads and writes within cache lines on large matrices.
  const B = 64;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) {
        const row = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = values[row + c];
      }
    }
  }
  return out;
}

/** The Hugging Face shape of one of our weights, given our shape. */
export function hfShapeOf(name: string, ours: readonly number[]): number[] {
  return isHfTransposed(name) ? [...ours].reverse() : [...ours];
}
