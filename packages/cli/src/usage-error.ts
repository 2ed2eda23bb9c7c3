/** Bad command-line input: printed with the usage line and exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `usage:
  distillery convert <file|folder> --out <dir> [--to gguf --type f16|q8_0|q4_0|bf16|f32]
  distillery generate <model folder> (--prompt TEXT | --ids "1 2 3") --max-new-tokens N
                      [--greedy | --temperature T [--top-k K]] [--seed S]`;

export function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new UsageError(`${flag} must be a positive integer, got "${value}"`);
  return Number(value);
}
