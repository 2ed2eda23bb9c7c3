/** The `distillery` command line: dispatches to one command, maps errors to exit codes (2 usage, 1 failure). */
import { USAGE, UsageError } from './usage-error';

type Command = (argv: string[], print: (line: string) => void) => Promise<void>;

// Loaded on use, so a usage error does not wait for ONNX Runtime to load.
const COMMANDS: Record<string, () => Promise<Command>> = {
  convert: async () => (await import('./convert-command')).convertCommand,
  generate: async () => (await import('./generate-command')).generateCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const print = (line: string) => process.stdout.write(line + '\n');
  if (name === undefined || name === '--help' || name === '-h') {
    print(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new UsageError(`unknown command "${name}" (convert, generate)`);
    await (await command())(rest, print);
    return 0;
  } catch (error) {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`distillery ${name}: ${(error as Error).message}\n`);
    if (usage) process.stderr.write(USAGE + '\n');
    return usage ? 2 : 1;
  }
}
