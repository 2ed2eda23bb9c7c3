/** The `distillery` command line: dispatches to one command, maps errors to exit codes (2 usage, 1 failure). */
import { convertCommand } from './convert-command';
import { generateCommand } from './generate-command';
import { USAGE, UsageError } from './usage-error';

const COMMANDS: Record<string, (argv: string[], print: (line: string) => void) => Promise<void>> = {
  convert: convertCommand,
  generate: generateCommand,
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
    await command(rest, print);
    return 0;
  } catch (error) {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`distillery ${name}: ${(error as Error).message}\n`);
    if (usage) process.stderr.write(USAGE + '\n');
    return usage ? 2 : 1;
  }
}
