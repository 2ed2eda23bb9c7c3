/** Bad command-line input: printed with the usage line and exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `usage:
  distillery convert <file|folder> --out <dir>        (safetensors folder, llama2.c checkpoint or GGUF file)
  distillery convert <model folder> --out <dir> --to gguf [--type f16|q8_0|q4_0|bf16|f32]
  distillery generate <model folder> (--prompt TEXT | --ids "1 2 3") --max-new-tokens N
                      [--greedy | --temperature T [--top-k K]] [--seed S]
  distillery login --email E [--password-stdin] [--api-url URL] [--name TOKEN_NAME] [--team NAME|ID]
  distillery import <file|folder> --project P [--name N] [--json]
  distillery run --project P --model M --recipe recipe.json [--seed S] [--tag T]... [--watch] [--json]
  distillery sweep --project P --model M --spec sweep.json [--follow [--metric M]] [--json]
  distillery compare <runId> <runId>... [--baseline RUN] [--json]
  distillery leaderboard --metric M [--suite S] [--suite-version N] [--team T | --public] [--first N] [--json]
  distillery download <modelId> --out DIR [--json]
exit codes: 0 ok, 1 failed (e.g. the run failed), 2 usage error, 3 not signed in or not allowed
environment: DISTILLERY_TOKEN, DISTILLERY_API_URL override the credentials distillery login stored`;

export function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new UsageError(`${flag} must be a positive integer, got "${value}"`);
  return Number(value);
}
