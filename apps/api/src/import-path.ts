/**
 * Server-side import paths: a client names a file, the server reads it, so the name must
 * resolve inside the configured import root. `..` segments are refused outright and
 * symlinks are resolved before the containment check, so neither can escape the root.
 */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';

export class ImportPathError extends Error {
  override name = 'ImportPathError';
}

function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' ? false : !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** The real, absolute path of a regular file under `root`, or an ImportPathError saying why not. */
export async function resolveImportPath(root: string, requested: string): Promise<string> {
  if (requested.includes('\0')) throw new ImportPathError('the path contains a NUL byte');
  if (requested.split(/[\\/]/).includes('..')) throw new ImportPathError('the path must not contain ".." segments');
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch {
    throw new ImportPathError('server-side imports are not available: the import root does not exist');
  }
  const givenRoot = path.resolve(root);
  const candidate = path.resolve(givenRoot, requested);
  if (!inside(givenRoot, candidate) && !inside(realRoot, candidate)) throw new ImportPathError('the path is outside the import root');
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    throw new ImportPathError('no such file under the import root');
  }
  if (!inside(realRoot, real)) throw new ImportPathError('the path leads outside the import root (symlink)');
  if (!(await stat(real)).isFile()) throw new ImportPathError('the path is not a regular file');
  return real;
}
