import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { scryptSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { decodeCursor, encodeCursor } from '../src/cursor';
import { formatPath } from '../src/errors';
import { ImportPathError, resolveImportPath } from '../src/import-path';
import { hashPassword, verifyPassword } from '../src/passwords';
import { countTokens } from '../src/query-token-limit';
import { bearerToken, hashToken, newToken } from '../src/tokens';

describe('passwords (scrypt, RFC 7914)', () => {
  it('verifies the right password only, with a fresh salt each time', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse battery', a)).toBe(true);
    expect(await verifyPassword('correct horse batterY', a)).toBe(false);
    expect(await verifyPassword('x', 'garbage')).toBe(false);
  });

  it('stores exactly scrypt(password, salt) with the recorded parameters', async () => {
    const stored = await hashPassword('pw-123456789');
    const [, N, r, p, salt, key] = stored.split('$');
    const expected = scryptSync('pw-123456789', Buffer.from(salt!, 'base64'), 64, { N: Number(N), r: Number(r), p: Number(p), maxmem: 1 << 30 });
    expect(Buffer.from(key!, 'base64').equals(expected)).toBe(true);
  });
});

describe('tokens', () => {
  it('keeps only a sha256 and a short prefix of a random secret', () => {
    const t = newToken();
    expect(t.secret).toMatch(/^dst_[A-Za-z0-9_-]{43}$/);
    expect(t.hash).toBe(hashToken(t.secret));
    expect(t.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(t.secret.startsWith(t.prefix)).toBe(true);
    expect(t.prefix.length).toBe(12);
    expect(newToken().secret).not.toBe(t.secret);
  });

  it('parses bearer headers', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeNull();
    expect(bearerToken(undefined)).toBeNull();
  });
});

describe('cursors', () => {
  it('round-trip and reject anything else', () => {
    const key = { createdAt: new Date('2026-11-24T12:00:00.123Z'), id: '0b7e7c1e-8d7a-4f55-9a53-1c3f9a2b4c5d' };
    expect(decodeCursor(encodeCursor(key))).toEqual(key);
    for (const bad of ['', 'garbage', Buffer.from('["x","y"]').toString('base64url'), Buffer.from('{}').toString('base64url')]) {
      expect(decodeCursor(bad)).toBeNull();
    }
  });
});

describe('field paths', () => {
  it('formats zod paths as users write them', () => {
    expect(formatPath(['steps', 0, 'params', 'bits'], 'recipe')).toBe('recipe.steps[0].params.bits');
    expect(formatPath(['email'], '')).toBe('email');
  });
});

describe('config', () => {
  it('defaults, precedence of API_PORT over PORT, and named errors', () => {
    expect(loadConfig({}).port).toBe(4000);
    expect(loadConfig({ PORT: '5000' }).port).toBe(5000);
    expect(loadConfig({ PORT: '5000', API_PORT: '6000' }).port).toBe(6000);
    expect(loadConfig({ NODE_ENV: 'production' }).production).toBe(true);
    expect(() => loadConfig({ API_PORT: 'eighty' })).toThrow(/API_PORT/);
    expect(() => loadConfig({ GRAPHQL_MAX_DEPTH: '0' })).toThrow(/GRAPHQL_MAX_DEPTH/);
  });
});

describe('query token counting', () => {
  it('counts GraphQL tokens and leaves syntax errors to the parser', () => {
    expect(countTokens('{ a b }', 100)).toBe(4);
    expect(countTokens('query Q($x: Int) { a(x: $x) }', 100)).toBe(17); // '$' and the name are separate tokens
    expect(countTokens('{ a b c d e f }', 3)).toBe(4);
    expect(countTokens('{ "unterminated }', 100)).toBeNull();
  });
});

describe('server-side import paths', () => {
  let dir: string;
  let root: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'import-root-'));
    root = path.join(dir, 'root');
    await mkdir(path.join(root, 'sub'), { recursive: true });
    await writeFile(path.join(root, 'sub', 'm.onnx'), 'x');
    await writeFile(path.join(dir, 'secret'), 'x');
    await symlink(path.join(dir, 'secret'), path.join(root, 'escape'));
    await symlink(path.join(root, 'sub', 'm.onnx'), path.join(root, 'inner-link'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('resolves files inside the root, relative or absolute, and in-root symlinks', async () => {
    const real = path.join(root, 'sub', 'm.onnx');
    expect(await resolveImportPath(root, 'sub/m.onnx')).toBe(real);
    expect(await resolveImportPath(root, real)).toBe(real);
    expect(await resolveImportPath(root, 'inner-link')).toBe(real);
  });

  it('refuses .., absolute paths outside, escaping symlinks, folders and missing files', async () => {
    for (const [p, why] of [
      ['../secret', /\.\./],
      ['sub/../../secret', /\.\./],
      [path.join(dir, 'secret'), /outside/],
      ['escape', /symlink/],
      ['sub', /regular file/],
      ['nope.onnx', /no such file/],
      ['', /outside|regular/],
    ] as const) {
      await expect(resolveImportPath(root, p), p).rejects.toThrow(why);
      await expect(resolveImportPath(root, p)).rejects.toBeInstanceOf(ImportPathError);
    }
  });
});

describe('names (control and bidi-override characters)', () => {
  it('refuses exactly C0/C1 controls, DEL and U+202A-202E, U+2066-2069 in names; keeps line breaks in free text', async () => {
    const { unsafeCharacters } = await import('../src/names');
    // The obvious reference: the code points listed one by one.
    const banned = new Set<number>();
    for (let c = 0; c <= 0x1f; c++) banned.add(c);
    for (let c = 0x7f; c <= 0x9f; c++) banned.add(c);
    for (const c of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]) banned.add(c);
    for (let c = 0; c < 0x3000; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const s = `a${String.fromCodePoint(c)}b`;
      expect(unsafeCharacters(s) !== null, `U+${c.toString(16)}`).toBe(banned.has(c));
      const inText = banned.has(c) && c !== 0x0a && c !== 0x0d && c !== 0x09;
      expect(unsafeCharacters(s, true) !== null, `text U+${c.toString(16)}`).toBe(inText);
    }
    expect(unsafeCharacters('ok\u202Eno')).toMatch(/U\+202E at position 3/);
    expect(unsafeCharacters('名前 – émoji 🙂')).toBeNull();
  });
});
