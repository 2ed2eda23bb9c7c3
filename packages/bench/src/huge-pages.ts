/**
 * Transparent huge pages for a suite's process. Where the kernel gives them only on request
 * (`madvise`, as on these machines), ONNX Runtime's weight buffers sit on 4 KiB pages, and
 * how those pages fall in physical memory differs from one session to the next: two sessions
 * of the same 100M-parameter graph decoded up to a quarter apart in speed, which no pairing of
 * steps within a session pair removes. glibc's `glibc.malloc.hugetlb=1` tunable makes malloc
 * ask for huge pages on its own; it is read when the process starts, so the bench CLI starts
 * the suite in a child process with it set (glibc on Linux only; elsewhere nothing changes).
 */
import { readFileSync } from 'node:fs';

export const HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb';

/** GLIBC_TUNABLES with `glibc.malloc.hugetlb=1` added, or undefined if `current` already sets that tunable. */
export function withHugePagesTunable(current: string | undefined): string | undefined {
  const parts = (current ?? '').split(':').filter((p) => p.length > 0);
  if (parts.some((p) => p.split('=')[0] === HUGE_PAGES_TUNABLE)) return undefined;
  return [...parts, `${HUGE_PAGES_TUNABLE}=1`].join(':');
}

/** MiB of this process's anonymous memory on transparent huge pages (Linux), or null where the kernel does not say. */
export function anonHugePagesMiB(): number | null {
  try {
    const kb = /AnonHugePages:\s+(\d+) kB/.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))?.[1];
    return kb === undefined ? null : Math.round(Number(kb) / 1024);
  } catch {
    return null;
  }
}
