import { BinaryHeap } from './binary-heap';
import type { MergeTable } from './merge-table';

const POSITION_SPAN = 2 ** 32;
/** Below this many symbols a plain rescan per merge beats building the heap and links. */
const SHORT_WORD = 24;

/**
 * Applies BPE merges to one word (Sennrich et al. 2016): repeatedly merge the
 * adjacent pair of lowest rank, the leftmost one on ties, until no pair is a merge.
 * A heap of (rank, position) over a linked list of symbols makes this
 * O(n log n) rather than O(n^2), which matters for long runs of letters (e.g. CJK
 * text without spaces). Stale heap entries are skipped when popped.
 */
export function mergeWord(symbols: Int32Array, table: MergeTable): Int32Array {
  const n = symbols.length;
  if (n < 2 || table.size === 0) return symbols;
  if (n <= SHORT_WORD) return mergeShortWord(symbols, table);
  const sym = Int32Array.from(symbols);
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  // Entry = rank * 2^32 + position of the left symbol: lowest rank first, then leftmost.
  const heap = new BinaryHeap<number>((a, b) => a < b);
  const offer = (left: number): void => {
    const right = next[left];
    if (right < 0) return;
    const rank = table.rank(sym[left], sym[right]);
    if (rank >= 0) heap.push(rank * POSITION_SPAN + left);
  };
  for (let i = 0; i < n - 1; i++) offer(i);

  let remaining = n;
  for (let entry = heap.pop(); entry !== undefined; entry = heap.pop()) {
    const left = entry % POSITION_SPAN;
    const rank = (entry - left) / POSITION_SPAN;
    const right = next[left];
    if (!alive[left] || right < 0 || table.rank(sym[left], sym[right]) !== rank) continue;
    sym[left] = table.result(rank);
    alive[right] = 0;
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    remaining--;
    if (prev[left] >= 0) offer(prev[left]);
    offer(left);
  }

  const out = new Int32Array(remaining);
  for (let i = 0, k = 0; i >= 0; i = next[i]) out[k++] = sym[i];
  return out;
}

/** The same merges for a short word: rescan for the lowest-ranked (then leftmost) pair after each merge. */
function mergeShortWord(symbols: Int32Array, table: MergeTable): Int32Array {
  const sym = Int32Array.from(symbols);
  let length = sym.length;
  for (;;) {
    let bestRank = -1;
    let bestAt = -1;
    for (let i = 0; i + 1 < length; i++) {
      const rank = table.rank(sym[i], sym[i + 1]);
      if (rank >= 0 && (bestRank < 0 || rank < bestRank)) {
        bestRank = rank;
        bestAt = i;
      }
    }
    if (bestRank < 0) return length === sym.length ? sym : sym.slice(0, length);
    sym[bestAt] = table.result(bestRank);
    sym.copyWithin(bestAt + 1, bestAt + 2, length);
    length--;
  }
}
