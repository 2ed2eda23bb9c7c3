import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { anonHugePagesMiB, withHugePagesTunable } from '../src/huge-pages';

describe('huge pages for a suite process', () => {
  it('adds glibc.malloc.hugetlb=1 to GLIBC_TUNABLES, keeping other tunables, and leaves a set value alone', () => {
    expect(withHugePagesTunable(undefined)).toBe('glibc.malloc.hugetlb=1');
    expect(withHugePagesTunable('')).toBe('glibc.malloc.hugetlb=1');
    expect(withHugePagesTunable('glibc.malloc.arena_max=2')).toBe('glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
    expect(withHugePagesTunable('glibc.malloc.hugetlb=0')).toBeUndefined();
    expect(withHugePagesTunable('glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1')).toBeUndefined();
  });

  it('a process started with the tunable holds a large buffer on huge pages where the kernel gives them on request', () => {
    if (process.platform !== 'linux') return expect(anonHugePagesMiB()).toBeNull();
    const mode = /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1];
    // 256 MiB written from Node, read back through the module's own reader in the child.
    const script = `import('${new URL('../src/huge-pages.ts', import.meta.url).pathname}').then((m) => { const b = new Float32Array(64 * 2 ** 20); b.fill(1); console.log(JSON.stringify(m.anonHugePagesMiB())); });`;
    const run = (env: NodeJS.ProcessEnv) => Number(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { env, encoding: 'utf8' }).trim());
    const withTunable = run({ ...process.env, GLIBC_TUNABLES: withHugePagesTunable(undefined) });
    if (mode === 'never') expect(withTunable).toBe(0);
    else expect(withTunable).toBeGreaterThanOrEqual(128);
    if (mode === 'madvise') expect(run({ ...process.env, GLIBC_TUNABLES: '' })).toBeLessThan(64);
  });
});
