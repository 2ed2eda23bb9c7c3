/**
 * Cutting text at the matches of a pattern, with the five `SplitDelimiterBehavior`s
 * of the Hugging Face `tokenizers` crate (Removed, Isolated, MergedWithPrevious,
 * MergedWithNext, Contiguous) and its `invert` flag (the non-matches become the
 * delimiters). Pieces are never empty; without `Removed` they concatenate back to
 * the input.
 */
export type SplitBehavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

export const SPLIT_BEHAVIORS = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'] as const;

/** Appends the pieces of `text` cut at `pattern` (a global RegExp) to `out`. */
export function splitWithBehavior(text: string, pattern: RegExp, behavior: SplitBehavior, invert: boolean, out: string[]): void {
  if (text.length === 0) return;
  if (behavior === 'Isolated' || (behavior === 'Removed' && invert)) {
    isolateOrKeepMatches(text, pattern, behavior === 'Isolated', out);
    return;
  }
  // Segments as [start, end, isDelimiter], covering the text in order.
  const starts: number[] = [];
  const ends: number[] = [];
  const delimiter: boolean[] = [];
  let previous = 0;
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const start = match.index;
    const end = start + match[0].length;
    if (end === start) {
      // An empty match cuts nothing; step over one code point so the scan advances.
      pattern.lastIndex = start + ((text.codePointAt(start) ?? 0) > 0xffff ? 2 : 1);
      continue;
    }
    if (start > previous) {
      starts.push(previous);
      ends.push(start);
      delimiter.push(invert);
    }
    starts.push(start);
    ends.push(end);
    delimiter.push(!invert);
    previous = end;
  }
  if (previous < text.length) {
    starts.push(previous);
    ends.push(text.length);
    delimiter.push(invert);
  }
  const n = starts.length;
  const slice = (piece: readonly [number, number]): string => text.slice(piece[0], piece[1]);
  const forward = Array.from({ length: n }, (_, i) => i);
  switch (behavior) {
    case 'Removed':
      for (let i = 0; i < n; i++) if (!delimiter[i]) out.push(text.slice(starts[i], ends[i]));
      return;
    case 'MergedWithPrevious':
      for (const piece of fold(forward, starts, ends, (i, previous) => delimiter[i] && !delimiter[previous])) out.push(slice(piece));
      return;
    case 'MergedWithNext':
      // The mirror image: walk from the end, so "previous" is the next segment.
      for (const piece of fold(forward.reverse(), starts, ends, (i, previous) => delimiter[i] && !delimiter[previous]).reverse()) out.push(slice(piece));
      return;
    case 'Contiguous':
      for (const piece of fold(forward, starts, ends, (i, previous) => delimiter[i] === delimiter[previous])) out.push(slice(piece));
      return;
  }
}

/** Walks segments in `order`, joining a segment to the piece before it (in walking order) when `joins(segment, previousSegment)`. */
function fold(order: readonly number[], starts: readonly number[], ends: readonly number[], joins: (segment: number, previous: number) => boolean): [number, number][] {
  const pieces: [number, number][] = [];
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    const last = pieces[pieces.length - 1];
    if (last !== undefined && joins(i, order[k - 1])) {
      last[0] = Math.min(last[0], starts[i]);
      last[1] = Math.max(last[1], ends[i]);
    } else {
      pieces.push([starts[i], ends[i]]);
    }
  }
  return pieces;
}

/** The common cases in one pass: every segment (Isolated), or only the matches (Removed with invert, e.g. GPT-4o). */
function isolateOrKeepMatches(text: string, pattern: RegExp, keepGaps: boolean, out: string[]): void {
  let previous = 0;
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const start = match.index;
    const word = match[0];
    if (word.length === 0) {
      pattern.lastIndex = start + ((text.codePointAt(start) ?? 0) > 0xffff ? 2 : 1);
      continue;
    }
    if (keepGaps && start > previous) out.push(text.slice(previous, start));
    out.push(word);
    previous = start + word.length;
  }
  if (keepGaps && previous < text.length) out.push(text.slice(previous));
}
