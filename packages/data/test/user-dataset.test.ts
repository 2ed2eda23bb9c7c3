import { describe, expect, it } from 'vitest';
import { DatasetError, formatFromFileName, parseUserDataset, type DatasetErrorCode } from '../src/user-dataset';

const utf8 = (text: string) => new TextEncoder().encode(text);
const jsonl = { format: 'jsonl', name: 'mine' } as const;
const text = { format: 'text', name: 'mine' } as const;

function failure(run: () => unknown): DatasetError {
  try {
    run();
  } catch (error) {
    if (error instanceof DatasetError) return error;
    throw error;
  }
  throw new Error('expected a DatasetError');
}

function expectError(run: () => unknown, code: DatasetErrorCode, message: RegExp, line?: number): void {
  const error = failure(run);
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
  expect(error.line).toBe(line);
}

describe('parseUserDataset', () => {
  it('reads plain text as one document, from bytes or a string, without a BOM', () => {
    expect(parseUserDataset(utf8('\uFEFFHello, wörld 🐋\n'), text)).toEqual([
      { id: 'mine/text', corpus: 'user', title: 'mine', text: 'Hello, wörld 🐋\n' },
    ]);
    expect(parseUserDataset('plain', text)[0].text).toBe('plain');
  });

  it('reads JSONL records, skipping blank lines and CRLF endings, keeping given ids', () => {
    const input = '{"text":"one"}\r\n\n{"text":"two","id":"b","extra":1}\n';
    expect(parseUserDataset(utf8(input), jsonl)).toEqual([
      { id: 'mine/line-1', corpus: 'user', title: 'mine line 1', text: 'one' },
      { id: 'b', corpus: 'user', title: 'mine line 3', text: 'two' },
    ]);
  });

  it('rejects empty input', () => {
    expectError(() => parseUserDataset(new Uint8Array(0), text), 'empty', /empty/);
    expectError(() => parseUserDataset(' \n\t', text), 'empty', /empty/);
    expectError(() => parseUserDataset('\n\n', jsonl), 'empty', /empty/);
  });

  it('rejects binary input: NUL bytes and invalid UTF-8, saying where', () => {
    expectError(() => parseUserDataset(Uint8Array.of(0x61, 0x00, 0x62), text), 'binary', /NUL byte at offset 1/);
    expectError(() => parseUserDataset('a\u0000b', text), 'binary', /NUL character at offset 1/);
    expectError(() => parseUserDataset(Uint8Array.of(0x61, 0x62, 0xff), text), 'invalid-utf8', /offset 2/);
    expectError(() => parseUserDataset(Uint8Array.of(0xc0, 0xaf), text), 'invalid-utf8', /offset 0/); // overlong '/'
    expectError(() => parseUserDataset(Uint8Array.of(0x61, 0xed, 0xa0, 0x80), text), 'invalid-utf8', /offset 1/); // surrogate
    expectError(() => parseUserDataset(Uint8Array.of(0x61, 0xf0, 0x9f, 0x90), text), 'invalid-utf8', /offset 1/); // truncated
    expectError(() => parseUserDataset('a\uD800b', text), 'invalid-utf8', /unpaired surrogate at character 1/);
  });

  it('rejects input over the size limit, before decoding it', () => {
    expectError(() => parseUserDataset(new Uint8Array(11).fill(0x61), { ...text, maxBytes: 10 }), 'too-large', /11 bytes, more than the limit of 10/);
    expectError(() => parseUserDataset('é'.repeat(6), { ...text, maxBytes: 10 }), 'too-large', /12 bytes/);
  });

  it('names the line of malformed JSON', () => {
    expectError(() => parseUserDataset('{"text":"a"}\n{"text": oops}\n', jsonl), 'malformed-json', /^line 2: malformed JSON/, 2);
  });

  it('names the line and the problem of an invalid record', () => {
    expectError(() => parseUserDataset('{"text":"a"}\n\n{"txt":"b"}', jsonl), 'invalid-record', /^line 3: missing "text" field/, 3);
    expectError(() => parseUserDataset('{"text":5}', jsonl), 'invalid-record', /"text" must be a string, got number/, 1);
    expectError(() => parseUserDataset('["text"]', jsonl), 'invalid-record', /must be a JSON object, got an array/, 1);
    expectError(() => parseUserDataset('{"text":""}', jsonl), 'invalid-record', /"text" is empty/, 1);
    expectError(() => parseUserDataset('{"text":"a","id":"x"}\n{"text":"b","id":"x"}', jsonl), 'duplicate-id', /"x" was already used/, 2);
  });

  it('picks the format from the file name', () => {
    expect(formatFromFileName('data.JSONL')).toBe('jsonl');
    expect(formatFromFileName('a.ndjson')).toBe('jsonl');
    expect(formatFromFileName('book.txt')).toBe('text');
  });
});
