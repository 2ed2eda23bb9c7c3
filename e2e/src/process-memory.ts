/**
 * Resident memory of a child process and its process group, from /proc (Linux): the
 * peak (VmHWM) is what shows whether a process ever held a whole upload.
 */
import { readdir, readFile } from 'node:fs/promises';

async function statusField(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

async function groupOf(pid: number): Promise<number | null> {
  try {
    // Fields after the parenthesised command name: state, ppid, pgrp, ...
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[2]);
  } catch {
    return null;
  }
}

/** Peak resident bytes of each process in the group `pgid`. */
export async function groupPeakRss(pgid: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if ((await groupOf(pid)) !== pgid) continue;
    const hwm = await statusField(pid, 'VmHWM');
    if (hwm !== null) out.set(pid, hwm);
  }
  return out;
}

/** A deterministic stream of `total` bytes in `chunk`-sized pieces; `onSent` sees the running count. */
export async function* patternBytes(total: number, chunk = 1 << 20, onSent?: (sent: number) => void | Promise<void>): AsyncGenerator<Uint8Array> {
  let sent = 0;
  while (sent < total) {
    const n = Math.min(chunk, total - sent);
    const piece = new Uint8Array(n);
    for (let i = 0; i < n; i++) piece[i] = ((sent + i) * 2654435761) >>> 24;
    yield piece;
    sent += n;
    await onSent?.(sent);
  }
}

/** Whether any process of the group `pgid` has a file matching `pattern` mapped (a loaded native library). */
export async function groupMapsFile(pgid: number, pattern: RegExp): Promise<boolean> {
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if ((await groupOf(pid)) !== pgid) continue;
    const maps = await readFile(`/proc/${pid}/maps`, 'utf8').catch(() => '');
    if (pattern.test(maps)) return true;
  }
  return false;
}
