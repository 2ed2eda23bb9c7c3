/** A JSON file named on the command line; a usage error naming the file when it cannot be read. */
import { readFile } from 'node:fs/promises';
import { UsageError } from './usage-error';

export async function readJsonFile(file: string, flag: string): Promise<unknown> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new UsageError(`${flag} ${file}: no such file`);
  });
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${flag} ${file}: not JSON (${(error as Error).message})`);
  }
}
