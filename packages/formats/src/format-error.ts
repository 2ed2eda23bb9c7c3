import path from 'node:path';

/** A refusal of an input file naming the file, the field (tensor, header entry, config key) and the problem. */
export class FormatError extends Error {
  override name = 'FormatError';
  constructor(
    readonly file: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${path.basename(file)}: ${field}: ${problem}`);
  }
}
