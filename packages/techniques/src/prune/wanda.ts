/**
 * Wanda (Sun et al. 2023, "A Simple and Effective Pruning Approach for Large Language
 * Models", eq. 1): S_ij = |W_ij| * ||X_j||_2, the weight's magnitude times the L2 norm of
 * the input feature it multiplies over the calibration tokens, compared within each
 * output (sec. 3). Our W is [in, out], so input feature j is row j and an output is a column;
 * ||X_j||_2^2 is the diagonal of the calibration Gram matrix X^T X.
 */
import { maskFor, type SparsityTarget } from './sparsity-mask';

/** ||X_j||_2 for every input feature, from the diagonal of X^T X ([in, in], row-major). */
export function inputNormsFromGram(gram: Float32Array, inFeatures: number): Float32Array {
  if (gram.length !== inFeatures * inFeatures) throw new Error(`Gram matrix has ${gram.length} values, expected ${inFeatures}x${inFeatures}`);
  const out = new Float32Array(inFeatures);
  for (let j = 0; j < inFeatures; j++) out[j] = Math.sqrt(Math.max(0, gram[j * inFeatures + j]!));
  return out;
}

export function wandaScores(w: Float32Array, rows: number, cols: number, inputNorms: Float32Array): Float32Array {
  if (inputNorms.length !== rows) throw new Error(`wanda: ${inputNorms.length} input norms for a weight with ${rows} inputs`);
  const s = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const n = inputNorms[r]!;
    for (let c = 0; c < cols; c++) s[r * cols + c] = Math.abs(w[r * cols + c]!) * n;
  }
  return s;
}

/** Wanda mask of W[rows = in, cols = out]: unstructured targets compare per output column. */
export function wandaMask(w: Float32Array, rows: number, cols: number, inputNorms: Float32Array, target: SparsityTarget, what = 'prune.wanda'): Uint8Array {
  return maskFor(wandaScores(w, rows, cols, inputNorms), rows, cols, target, 'output', what);
}
