import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint, type CheckpointState } from '../src/train/index';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'ckpt-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function state(step: number): CheckpointState {
  return {
    step,
    params: new Map([
      ['a', Float32Array.from([1.5, -2, Math.PI, step])],
      ['b', Float32Array.from([NaN, -0, 1e-30])],
    ]),
    optimizer: {
      t: step,
      m: new Map([['a', Float32Array.from([0.1, 0.2, 0.3, 0.4])]]),
      v: new Map([['a', Float32Array.from([1, 2, 3, 4])]]),
    },
    rng: [1, 2, 3, 4294967295],
    dataCursor: { rng: [5, 6, 7, 8], drawn: 12 },
    meta: { note: 'x', curve: [1, 2] },
  };
}

function bytes(a: Float32Array): number[] {
  return Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

describe('checkpoint', () => {
  it('round-trips params, moments, step, RNG state and cursor bit for bit', async () => {
    const dir = path.join(await tempDir(), 'nested', 'ck');
    expect(await hasCheckpoint(dir)).toBe(false);
    const s = state(7);
    await saveCheckpoint(dir, s);
    expect(await hasCheckpoint(dir)).toBe(true);
    const l = await loadCheckpoint(dir);
    expect(l.step).toBe(7);
    expect(bytes(l.params.get('a')!)).toEqual(bytes(s.params.get('a')!));
    expect(bytes(l.params.get('b')!)).toEqual(bytes(s.params.get('b')!)); // NaN and -0 preserved
    expect(bytes(l.optimizer!.m.get('a')!)).toEqual(bytes(s.optimizer!.m.get('a')!));
    expect(bytes(l.optimizer!.v.get('a')!)).toEqual(bytes(s.optimizer!.v.get('a')!));
    expect(l.optimizer!.t).toBe(7);
    expect(l.rng).toEqual([1, 2, 3, 4294967295]);
    expect(l.dataCursor).toEqual({ rng: [5, 6, 7, 8], drawn: 12 });
    expect(l.meta).toEqual({ note: 'x', curve: [1, 2] });
  });

  it('replaces an older checkpoint and leaves one manifest and one binary', async () => {
    const dir = await tempDir();
    await saveCheckpoint(dir, state(1));
    await saveCheckpoint(dir, state(2));
    const files = (await readdir(dir)).sort();
    expect(files.length).toBe(2);
    expect(files[0]).toBe('manifest.json');
    expect(files[1]).toMatch(/^tensors-2-[0-9a-f]+\.bin$/);
    expect((await loadCheckpoint(dir)).params.get('a')![3]).toBe(2);
  });

  it('refuses a corrupted or truncated binary with a clear error', async () => {
    const dir = await tempDir();
    await saveCheckpoint(dir, state(3));
    const bin = (await readdir(dir)).find((f) => f.endsWith('.bin'))!;
    const raw = await readFile(path.join(dir, bin));
    raw[5] ^= 0x40;
    await writeFile(path.join(dir, bin), raw);
    await expect(loadCheckpoint(dir)).rejects.toThrow(/checksum mismatch .*corrupt/);
    await writeFile(path.join(dir, bin), raw.subarray(0, 10));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/10 bytes, manifest says/);
    await rm(path.join(dir, bin));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/is missing/);
    await writeFile(path.join(dir, 'manifest.json'), '{"format":"other"}');
    await expect(loadCheckpoint(dir)).rejects.toThrow(/not a version-1/);
    await expect(loadCheckpoint(path.join(dir, 'none'))).rejects.toThrow(/no manifest\.json/);
  });
});
