/**
 * Seeded PRNG with a state small enough to checkpoint: xoshiro128** (Blackman & Vigna,
 * "Scrambled linear pseudorandom number generators", 2021), seeded through splitmix32 so
 * that nearby seeds give unrelated streams.
 */

/** Four uint32 words; a checkpoint stores exactly this. */
export type RngState = [number, number, number, number];

export interface Rng {
  /** Uniform uint32. */
  nextU32(): number;
  /** Uniform in [0, 1) with 32 bits of resolution. */
  nextFloat(): number;
  /** Uniform integer in [0, n), unbiased (rejection sampling); 1 <= n <= 2^32. */
  nextInt(n: number): number;
  state(): RngState;
  setState(state: RngState): void;
}

function splitmix32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export function rngStateFromSeed(seed: number): RngState {
  if (!Number.isInteger(seed)) throw new Error(`RNG seed must be an integer, got ${seed}`);
  const next = splitmix32(seed);
  const s: RngState = [next(), next(), next(), next()];
  // xoshiro's one forbidden state; splitmix32 practically never yields it.
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  return s;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export function createRng(seedOrState: number | RngState): Rng {
  let [s0, s1, s2, s3] = typeof seedOrState === 'number' ? rngStateFromSeed(seedOrState) : checkState(seedOrState);
  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 = (s2 ^ s0) >>> 0;
    s3 = (s3 ^ s1) >>> 0;
    s1 = (s1 ^ s2) >>> 0;
    s0 = (s0 ^ s3) >>> 0;
    s2 = (s2 ^ t) >>> 0;
    s3 = rotl(s3, 11);
    return result;
  };
  return {
    nextU32,
    nextFloat: () => nextU32() / 4294967296,
    nextInt(n: number): number {
      if (!Number.isInteger(n) || n < 1 || n > 4294967296) throw new Error(`nextInt: n must be an integer in [1, 2^32], got ${n}`);
      const limit = Math.floor(4294967296 / n) * n;
      for (;;) {
        const u = nextU32();
        if (u < limit) return u % n;
      }
    },
    state: () => [s0, s1, s2, s3],
    setState(state: RngState) {
      [s0, s1, s2, s3] = checkState(state);
    },
  };
}

function checkState(state: unknown): RngState {
  if (
    !Array.isArray(state) ||
    state.length !== 4 ||
    !state.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) ||
    state.every((w) => w === 0)
  ) {
    throw new Error(`invalid RNG state ${JSON.stringify(state)}: expected four uint32 words, not all zero`);
  }
  return [state[0], state[1], state[2], state[3]];
}
