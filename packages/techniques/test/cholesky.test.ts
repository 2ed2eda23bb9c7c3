import { describe, expect, it } from 'vitest';
import { choleskyLower, lowerInverse } from '../src/linalg/cholesky';

/** A symmetric positive definite [n, n] matrix with no structure the loops could lean on. */
function spd(n: number): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = Math.exp(-Math.abs(i - j) / 5) + 0.01 * Math.sin(i * 7 + j * 3) + (i === j ? 1 : 0);
  return a;
}

/** Golub & Van Loan Algorithm 4.2.1, one entry at a time, each sum in increasing p. */
function slowCholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let p = 0; p < j; p++) d -= l[j * n + p]! * l[j * n + p]!;
    l[j * n + j] = Math.sqrt(d);
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let p = 0; p < j; p++) s -= l[i * n + p]! * l[j * n + p]!;
      l[i * n + j] = s / l[j * n + j]!;
    }
  }
  return l;
}

/** Forward substitution one entry at a time: inv[i, c] = -(Σ_{c<=p<i} l[i, p] inv[p, c]) / l[i, i], summed in increasing p. */
function slowLowerInverse(l: Float64Array, n: number): Float64Array {
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < i; c++) {
      let s = 0;
      for (let p = c; p < i; p++) s += l[i * n + p]! * inv[p * n + c]!;
      inv[i * n + c] = -s / l[i * n + i]!;
    }
    inv[i * n + i] = 1 / l[i * n + i]!;
  }
  return inv;
}

describe('choleskyLower and lowerInverse', () => {
  for (const n of [1, 2, 3, 8, 33, 64]) {
    it(`equal the one-entry-at-a-time forms bit for bit (n = ${n}, rows in pairs${n % 2 ? ' plus a last one' : ''})`, () => {
      const a = spd(n);
      const l = choleskyLower(a, n);
      expect(Array.from(l)).toEqual(Array.from(slowCholesky(a, n)));
      expect(Array.from(lowerInverse(l, n))).toEqual(Array.from(slowLowerInverse(l, n)));
    });
  }
});
