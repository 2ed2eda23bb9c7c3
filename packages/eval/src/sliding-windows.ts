/**
 * The windows of a sliding-window perplexity (Hugging Face, "Perplexity of fixed-length
 * models"): windows of at most `window` tokens start every `stride` tokens, and each
 * scores only the tokens the previous window did not. The first window scores all its
 * tokens but the first (nothing predicts token 0). With stride < window every later
 * token is predicted from at least window - stride tokens of context; with
 * stride == window the windows are disjoint and the first token of each window is not
 * scored (it would have no context), the plain non-overlapping estimate.
 */
export interface Window {
  begin: number;
  /** Exclusive. */
  end: number;
  /** Tokens [scoreFrom, end) are scored; each is predicted from [begin, t). */
  scoreFrom: number;
}

export function slidingWindows(n: number, window: number, stride: number): Window[] {
  if (!Number.isInteger(window) || window < 2) throw new Error(`window must be an integer >= 2 (got ${window})`);
  if (!Number.isInteger(stride) || stride < 1 || stride > window) throw new Error(`stride must be an integer in [1, window=${window}] (got ${stride})`);
  if (n < 2) throw new Error(`perplexity needs at least 2 tokens (got ${n})`);
  const out: Window[] = [];
  let prevEnd = 0;
  for (let begin = 0; ; begin += stride) {
    const end = Math.min(begin + window, n);
    const scoreFrom = Math.max(prevEnd, begin + 1);
    if (scoreFrom < end) out.push({ begin, end, scoreFrom });
    prevEnd = end;
    if (end === n) break;
  }
  return out;
}
