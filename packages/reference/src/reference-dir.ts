import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's committed reference model folder (`models/ref-base`). */
export function referenceModelDir(name = 'ref-base'): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../models', name);
}
