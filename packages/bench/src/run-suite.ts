import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { machineInfo } from './machine';
import type { BenchReport, BenchSuite } from './suite';

export async function runSuite(suite: BenchSuite, opts: { quick: boolean; json?: string; log?: (m: string) => void }): Promise<BenchReport> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const startedAt = new Date();
  const rows = await suite.run({ quick: opts.quick, log });
  const report: BenchReport = {
    suite: suite.name,
    quick: opts.quick,
    startedAt: startedAt.toISOString(),
    seconds: (Date.now() - startedAt.getTime()) / 1000,
    machine: machineInfo(),
    rows,
  };
  if (opts.json) {
    await mkdir(path.dirname(path.resolve(opts.json)), { recursive: true });
    await writeFile(opts.json, JSON.stringify(report, null, 2) + '\n');
  }
  return report;
}
