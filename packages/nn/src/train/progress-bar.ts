/**
 * A one-line terminal progress bar for long training runs: redrawn in place on a TTY, printed
 * as a plain line every few seconds otherwise (log files, CI). Formatting is a pure function.
 */

export interface ProgressView {
  step: number;
  total: number;
  loss?: number;
  tokensPerSecond?: number;
  /** Seconds left; undefined when unknown. */
  etaSeconds?: number;
  /** Characters in the bar itself (default 24). */
  width?: number;
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function formatRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return `${Math.round(n)}`;
}

/** e.g. `[######------]  50/100  50.0%  loss 2.3456  12.3k tok/s  ETA 1m05s` */
export function formatProgress(v: ProgressView): string {
  const width = v.width ?? 24;
  const frac = v.total > 0 ? Math.min(1, Math.max(0, v.step / v.total)) : 1;
  const filled = Math.round(frac * width);
  const digits = String(v.total).length;
  const parts = [
    `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`,
    `${String(v.step).padStart(digits)}/${v.total}`,
    `${(frac * 100).toFixed(1).padStart(5)}%`,
  ];
  if (v.loss !== undefined) parts.push(`loss ${v.loss.toFixed(4)}`);
  if (v.tokensPerSecond !== undefined) parts.push(`${formatRate(v.tokensPerSecond)} tok/s`);
  parts.push(`ETA ${formatDuration(v.etaSeconds)}`);
  return parts.join('  ');
}

export interface ProgressBarOptions {
  total: number;
  tokensPerStep?: number;
  /** Where to write (default process.stderr); `isTTY` chooses redraw vs plain lines. */
  stream?: { write(s: string): unknown; isTTY?: boolean };
  /** Milliseconds clock, injectable for tests. */
  now?: () => number;
  /** Plain-line interval when not a TTY (default 10 s). */
  plainEverySeconds?: number;
  /** Step the run starts from (a resumed run), so rates count only this session's steps. */
  startStep?: number;
}

export class ProgressBar {
  private readonly stream: NonNullable<ProgressBarOptions['stream']>;
  private readonly now: () => number;
  private readonly t0: number;
  private lastPlain = -Infinity;

  constructor(private readonly o: ProgressBarOptions) {
    this.stream = o.stream ?? process.stderr;
    this.now = o.now ?? (() => performance.now());
    this.t0 = this.now();
  }

  /** The line for `step` at the current time (pure apart from the clock). */
  line(step: number, loss?: number): string {
    const elapsed = (this.now() - this.t0) / 1000;
    const doneHere = step - (this.o.startStep ?? 0);
    const rate = elapsed > 0 && doneHere > 0 ? doneHere / elapsed : undefined;
    return formatProgress({
      step,
      total: this.o.total,
      loss,
      tokensPerSecond: rate !== undefined && this.o.tokensPerStep ? rate * this.o.tokensPerStep : undefined,
      etaSeconds: rate !== undefined ? (this.o.total - step) / rate : undefined,
    });
  }

  update(step: number, loss?: number): void {
    const text = this.line(step, loss);
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[2K${text}`);
      return;
    }
    const t = this.now() / 1000;
    if (step >= this.o.total || t - this.lastPlain >= (this.o.plainEverySeconds ?? 10)) {
      this.lastPlain = t;
      this.stream.write(`${text}\n`);
    }
  }

  /** Ends the redrawn line so later output starts on a fresh one. */
  done(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }
}
