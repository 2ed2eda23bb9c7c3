/** A seeded source of uniform random numbers. */
export interface Random {
  /** Next 32-bit unsigned integer. */
  nextUint32(): number;
  /** Uniform float in [0, 1) with 32 bits of randomness. */
  nextFloat(): number;
  /** Uniform integer in [0, bound), without modulo bias. */
  nextInt(bound: number): number;
}

/**
 * Mulberry32 (Tommy Ettinger, 2017): a 32-bit state generator with period 2^32,
 * fast and well distributed enough for sampling and shuffling (not cryptographic).
 * Equal seeds give equal sequences on every platform.
 */
export function mulberry32(seed: number): Random {
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  let state = seed >>> 0;
  const nextUint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  };
  return {
    nextUint32,
    nextFloat: () => nextUint32() / 2 ** 32,
    nextInt: (bound: number): number => {
      if (!Number.isInteger(bound) || bound < 1 || bound > 2 ** 32) throw new RangeError(`bound must be an integer in [1, 2^32], got ${bound}`);
      // Rejection sampling: drop draws from the incomplete last block of size `bound`.
      const limit = 2 ** 32 - (2 ** 32 % bound);
      for (;;) {
        const draw = nextUint32();
        if (draw < limit) return draw % bound;
      }
    },
  };
}
