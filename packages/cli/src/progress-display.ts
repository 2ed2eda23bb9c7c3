/**
 * Progress on stderr: one line redrawn in place (\r, erase to end of line) on a terminal,
 * plain lines otherwise (a line per message change, and per 10% of progress) so logs and
 * scripts read it.
 */
export interface ProgressDisplay {
  /** fraction in [0, 1], or null when unknown. */
  update(fraction: number | null, message: string): void;
  /** A line that stays (a status change). */
  note(line: string): void;
  done(): void;
}

const WIDTH = 24;

export function bar(fraction: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(f * WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}

export function createProgressDisplay(stream: NodeJS.WriteStream = process.stderr): ProgressDisplay {
  const tty = stream.isTTY === true;
  let drawn = false;
  let lastMessage = '';
  let lastDecile = -1;
  const clear = () => {
    if (drawn) stream.write('\r\x1b[K');
    drawn = false;
  };
  return {
    update(fraction, message) {
      if (tty) {
        const columns = stream.columns || 100;
        const text = fraction === null ? message : `${bar(fraction)} ${message}`;
        stream.write(`\r\x1b[K${text.slice(0, columns - 1)}`);
        drawn = true;
        return;
      }
      const decile = fraction === null ? -1 : Math.floor(fraction * 10);
      if (message === lastMessage && decile === lastDecile) return;
      lastMessage = message;
      lastDecile = decile;
      stream.write(`${fraction === null ? '' : `${Math.floor(fraction * 100)}% `}${message}\n`);
    },
    note(line) {
      clear();
      stream.write(line + '\n');
    },
    done() {
      clear();
    },
  };
}
