/** `npm run bench -- <suite> [--quick] [--json FILE]` */
import { spawnSync } from 'node:child_process';
import { parseBenchArgs } from './args';
import { withHugePagesTunable } from './huge-pages';
import { runSuite } from './run-suite';
import { suites } from './suites/index';
import { formatTable } from './table';

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  const entry = args.suite ? suites[args.suite] : undefined;
  if (!entry) {
    const list = Object.entries(suites).map(([n, s]) => `  ${n.padEnd(12)} ${s.description}`).join('\n');
    process.stderr.write(`${args.suite ? `unknown suite "${args.suite}"` : 'no suite given'}; suites:\n${list}\n`);
    process.exit(2);
  }
  if (entry.hugePages && process.platform === 'linux') {
    const tunables = withHugePagesTunable(process.env.GLIBC_TUNABLES);
    if (tunables !== undefined) {
      // The tunable is read at process start: run the same command again with it set.
      const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, GLIBC_TUNABLES: tunables } });
      if (child.error) throw child.error;
      process.exit(child.status ?? 1);
    }
  }
  const report = await runSuite(await entry.load(), { quick: args.quick, json: args.json });
  process.stdout.write(`\n${report.suite}${report.quick ? ' (quick)' : ''}: ${report.seconds.toFixed(1)} s on ${report.machine.cpus} cores\n`);
  process.stdout.write(formatTable(report.rows) + '\n');
  if (args.json) process.stdout.write(`wrote ${args.json}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
