/** What the team commands print and where they write, checked without a server. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cellText } from '../src/compare-command';
import { targetPath } from '../src/download-command';
import { exitCodeOf } from '../src/main';
import { bar, createProgressDisplay } from '../src/progress-display';
import { figure, textTable } from '../src/text-table';
import { AuthError } from '../src/auth-error';
import { UsageError } from '../src/usage-error';
import { GraphqlCallError } from '@distillery/services';

describe('text output', () => {
  it('aligns text left and figures right', () => {
    const t = textTable(['metric', 'a'], [['size.bytes', '72086 (-44.4% better)'], ['ratio.size', '0.5563']]);
    expect(t.split('\n')).toEqual(['metric                          a', '----------  ---------------------', 'size.bytes  72086 (-44.4% better)', 'ratio.size                 0.5563']);
  });

  it('shows a change against the reference as a percentage with its direction', () => {
    expect(cellText({ runId: 'r', value: 72086, delta: -57503, ratio: 0.5562663, better: true })).toBe('72086 (-44.3734% better)');
    expect(cellText({ runId: 'r', value: 3, delta: 1, ratio: null, better: false })).toBe('3 (+1 worse)');
    expect(cellText({ runId: 'r', value: 5, delta: 0, ratio: 1, better: null })).toBe('5');
    expect(cellText({ runId: 'r', value: null, delta: null, ratio: null, better: null })).toBe('-');
    expect(figure(0.1 + 0.2)).toBe('0.3');
  });

  it('draws a bar of the fraction done, clamped', () => {
    expect(bar(0.5)).toBe(`[${'#'.repeat(12)}${'.'.repeat(12)}]  50%`);
    expect(bar(1.7)).toBe(`[${'#'.repeat(24)}] 100%`);
  });
});

describe('download paths', () => {
  it('keeps every file inside the output folder', () => {
    expect(targetPath('out', 'onnx/model.onnx')).toBe(path.resolve('out', 'onnx', 'model.onnx'));
    expect(() => targetPath('out', '../escape.txt')).toThrow(/points outside out/);
    expect(() => targetPath('out', '/etc/passwd')).toThrow(/points outside/);
  });
});

describe('exit codes', () => {
  it('maps usage, authentication and other failures', () => {
    expect(exitCodeOf(new UsageError('x'))).toBe(2);
    expect(exitCodeOf(Object.assign(new TypeError('bad flag'), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }))).toBe(2);
    expect(exitCodeOf(new AuthError('x'))).toBe(3);
    expect(exitCodeOf(new GraphqlCallError([{ message: 'no', extensions: { code: 'UNAUTHENTICATED' } }]))).toBe(3);
    expect(exitCodeOf(new GraphqlCallError([{ message: 'no', extensions: { code: 'BAD_USER_INPUT' } }]))).toBe(1);
    expect(exitCodeOf({ code: 1006 })).toBe(1);
    expect(exitCodeOf(new Error('run failed'))).toBe(1);
  });
});

describe('progress display', () => {
  function capture(isTTY: boolean) {
    const writes: string[] = [];
    const stream = { isTTY, columns: 40, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
    return { writes, display: createProgressDisplay(stream) };
  }

  it('redraws one line in place on a terminal and clears it before a note', () => {
    const { writes, display } = capture(true);
    display.update(0.25, 'step 1/2 quantize.rtn: a very long message that does not fit');
    display.note('run r running -> succeeded');
    expect(writes[0]).toBe(`\r\x1b[K${`${bar(0.25)} step 1/2 quantize.rtn: a very long message`.slice(0, 39)}`);
    expect(writes.slice(1)).toEqual(['\r\x1b[K', 'run r running -> succeeded\n']);
  });

  it('prints plain lines elsewhere, one per message change or tenth of progress', () => {
    const { writes, display } = capture(false);
    display.update(0.01, 'a');
    display.update(0.05, 'a');
    display.update(0.12, 'a');
    display.update(0.13, 'b');
    display.note('done');
    expect(writes).toEqual(['1% a\n', '12% a\n', '13% b\n', 'done\n']);
  });
});
