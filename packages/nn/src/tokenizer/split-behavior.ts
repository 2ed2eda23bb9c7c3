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
  switch (behavior) {
    case 'Removed':
      for (let i = 0; i < n; i++) if (!delimiter[i]) out.push(text.slice(starts[i], ends[i]));
      return;
    case 'Isolated':
      for (let i = 0; i < n; i++) out.push(text.slice(starts[i], ends[i]));
      return;
    case 'MergedWithPrevious': {
      let pieceStart = -1;
      let pieceEnd = -1;
      let previousDelimiter = false;
      for (let i = 0; i < n; i++) {
        if (delimiter[i] && !previousDelimiter && pieceStart >= 0) {
          pieceEnd = ends[i];
        } else {
          if (pieceStart >= 0) out.push(text.slice(pieceStart, pieceEnd));
          pieceStart = starts[i];
          pieceEnd = ends[i];
        }
        previousDelimiter = delimiter[i];
      }
      if (pieceStart >= 0) out.push(text.slice(pieceStart, pieceEnd));
      return;
    }
    case 'MergedWithNext': {
      // Mirror image of MergedWithPrevious: walk from the end.
      const pieces: string[] = [];
      let pieceStart = -1;
      let pieceEnd = -1;
      let nextDelimiter = false;
      for (let i = n - 1; i >= 0; i--) {
        if (delimiter[i] && !nextDelimiter && pieceStart >= 0) {
          pieceStart = starts[i];
        } else {
          if (pieceStart >= 0) pieces.push(text.slice(pieceStart, pieceEnd));
          pieceStart = starts[i];
          pieceEnd = ends[i];
        }
        nextDelimiter = delimiter[i];
      }
      if (pieceStart >= 0) pieces.push(text.slice(pieceStart, pieceEnd));
      for (let i = pieces.length - 1; i >= 0; i--) out.push(pieces[i]);
      return;
    }
    case 'Contiguous': {
      let pieceStart = -1;
      let pieceEnd = -1;
      let previousDelimiter: boolean | undefined;
      for (let i = 0; i < n; i++) {
        if (delimiter[i] === previousDelimiter && pieceStart >= 0) {
          pieceEnd = ends[i];
        } else {
          if (pieceStart >= 0) out.push(text.slice(pieceStart, pieceEnd));
          pieceStart = starts[i];
          pieceEnd = ends[i];
        }
        previousDelimiter = delimiter[i];
      }
      if (pieceStart >= 0) out.push(text.slice(pieceStart, pieceEnd));
      return;
    }
  }
}
