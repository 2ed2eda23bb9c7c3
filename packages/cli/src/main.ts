/**
 * The `distillery` command line: dispatches to one command, maps errors to exit codes
 * (0 ok, 1 the thing failed, 2 usage error, 3 authentication or permission refused).
 */
import { AuthError, isAuthError } from './auth-error';
import { USAGE, UsageError } from './usage-error';

type Command = (argv: string[], print: (line: string) => void) => Promise<void>;

// Loaded on use, so a usage error does not wait for ONNX Runtime to load.
const COMMANDS: Record<string, () => Promise<Command>> = {
  convert: async () => (await import('./convert-command')).convertCommand,
  generate: async () => (await import('./generate-command')).generateCommand,
  login: async () => (await import('./login-command')).loginCommand,
  import: async () => (await import('./import-command')).importCommand,
  run: async () => (await import('./run-command')).runCommand,
  sweep: async () => (await import('./sweep-command')).sweepCommand,
  compare: async () => (await import('./compare-command')).compareCommand,
  leaderboard: async () => (await import('./leaderboard-command')).leaderboardCommand,
  download: async () => (await import('./download-command')).downloadCommand,
};

export const EXIT = { ok: 0, failure: 1, usage: 2, auth: 3 } as const;

export function exitCodeOf(error: unknown): number {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) return EXIT.usage;
  if (error instanceof AuthError || isAuthError(error)) return EXIT.auth;
  return EXIT.failure;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const print = (line: string) => process.stdout.write(line + '\n');
  if (name === undefined || name === '--help' || name === '-h') {
    print(USAGE);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new UsageError(`unknown command "${name}" (${Object.keys(COMMANDS).join(', ')})`);
    await (await command())(rest, print);
    return EXIT.ok;
  } catch (error) {
    const code = exitCodeOf(error);
    process.stderr.write(`distillery ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    if (code === EXIT.usage) process.stderr.write(USAGE + '\n');
    return code;
  }
}
