/** The ranked merges of a BPE model, looked up by the ids of the two parts. */
export class MergeTable {
  private readonly ranks = new Map<number, number>();
  private readonly results: Int32Array;

  /**
   * @param merges `[left, right, merged]` ids in rank order (rank 0 = learned first).
   * @param idLimit exclusive upper bound of every id, used to key pairs by one number.
   */
  constructor(
    merges: readonly (readonly [number, number, number])[],
    private readonly idLimit: number,
  ) {
    this.results = new Int32Array(merges.length);
    merges.forEach(([left, right, merged], rank) => {
      const key = left * idLimit + right;
      // A repeated pair keeps its first (lowest) rank, as a rank lookup would.
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
      this.results[rank] = merged;
    });
  }

  get size(): number {
    return this.results.length;
  }

  /** Rank of merging `left` then `right`, or -1 when the pair is not a merge. */
  rank(left: number, right: number): number {
    return this.ranks.get(left * this.idLimit + right) ?? -1;
  }

  /** Id of the token the merge of rank `rank` produces. */
  result(rank: number): number {
    return this.results[rank];
  }
}
