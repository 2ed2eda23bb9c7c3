/**
 * The ranked merges of a BPE model, looked up by the ids of the two parts. An
 * open-addressing hash table over typed arrays: keys stay small integers (a Map keyed
 * by `left * vocab + right` would hold doubles once the vocabulary passes 2^15 and
 * becomes several times slower on large vocabularies).
 */
export class MergeTable {
  private readonly results: Int32Array;
  private readonly mask: number;
  private readonly lefts: Int32Array;
  private readonly rights: Int32Array;
  private readonly ranks: Int32Array;

  /** @param merges `[left, right, merged]` ids in rank order (rank 0 = learned first). */
  constructor(merges: readonly (readonly [number, number, number])[]) {
    this.results = new Int32Array(merges.length);
    let capacity = 16;
    while (capacity < merges.length * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.lefts = new Int32Array(capacity).fill(-1);
    this.rights = new Int32Array(capacity);
    this.ranks = new Int32Array(capacity);
    merges.forEach(([left, right, merged], rank) => {
      this.results[rank] = merged;
      let slot = this.slotOf(left, right);
      while (this.lefts[slot] !== -1) {
        // A repeated pair keeps its first (lowest) rank, as a rank lookup would.
        if (this.lefts[slot] === left && this.rights[slot] === right) return;
        slot = (slot + 1) & this.mask;
      }
      this.lefts[slot] = left;
      this.rights[slot] = right;
      this.ranks[slot] = rank;
    });
  }

  get size(): number {
    return this.results.length;
  }

  /** Rank of merging `left` then `right`, or -1 when the pair is not a merge. */
  rank(left: number, right: number): number {
    let slot = this.slotOf(left, right);
    for (;;) {
      const stored = this.lefts[slot];
      if (stored === -1) return -1;
      if (stored === left && this.rights[slot] === right) return this.ranks[slot];
      slot = (slot + 1) & this.mask;
    }
  }

  /** Id of the token the merge of rank `rank` produces. */
  result(rank: number): number {
    return this.results[rank];
  }

  private slotOf(left: number, right: number): number {
    // Multiply-xorshift mixing (MurmurHash3's finalizer constants) so the low bits depend on every bit of both ids.
    let h = Math.imul(left ^ Math.imul(right, 0x85ebca6b), 0xc2b2ae35);
    h ^= h >>> 16;
    return h & this.mask;
  }
}
