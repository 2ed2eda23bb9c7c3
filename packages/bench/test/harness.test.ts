import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatTable, parseBenchArgs, runSuite, type BenchSuite } from '../src/index';

describe('bench harness', () => {
  it('parses suite, --quick and --json in any order', () => {
    expect(parseBenchArgs(['model-core', '--quick', '--json', 'out.json'])).toEqual({ suite: 'model-core', quick: true, json: 'out.json' });
    expect(parseBenchArgs(['--json=x.json', 'train'])).toEqual({ suite: 'train', quick: false, json: 'x.json' });
    expect(() => parseBenchArgs(['--json'])).toThrow(/needs a file/);
    expect(() => parseBenchArgs(['a', '--fast'])).toThrow(/unknown option --fast/);
  });

  it('formats rows as an aligned table with the union of columns', () => {
    const t = formatTable([{ name: 'a', x: 1.23456 }, { name: 'longer', y: 1000.5 }]);
    const lines = t.split('\n');
    expect(lines[0]).toMatch(/^name\s+x\s+y$/);
    expect(lines[2]).toContain('1.235');
    expect(lines[3]).toContain('1000.5');
    expect(new Set(lines.slice(0, 2).map((l) => l.length)).size).toBe(1);
  });

  it('writes {suite, machine, rows} JSON with the rows the suite returned', async () => {
    const suite: BenchSuite = { name: 'demo', description: 'test', run: async ({ quick }) => [{ name: 'r', quick }] };
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'bench-')), 'r.json');
    await runSuite(suite, { quick: true, json: file, log: () => {} });
    const json = JSON.parse(await readFile(file, 'utf8'));
    expect(json.suite).toBe('demo');
    expect(json.rows).toEqual([{ name: 'r', quick: true }]);
    expect(json.machine.cpus).toBeGreaterThan(0);
  });
});
