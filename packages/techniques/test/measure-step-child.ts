/**
 * Child process of step-estimates.test.ts: runs one technique on a model file the way a
 * worker thread does (bytes in, decode, apply, serialize) and prints what it cost: the
 * peak resident memory it added (VmHWM after resetting it through /proc/self/clear_refs)
 * and the CPU time it took, with the ORT MatMul rate of this process measured just before
 * in CPU time too. CPU time, not wall time: the machine is shared, and other processes
 * slow the wall clock of both by different amounts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { openMatMul } from '@distillery/nn';
import { decodeModel, serializeModel } from '@distillery/onnx';
import { quietContext, registry } from '../src';

const [file, techniqueId, paramsJson, vocab] = process.argv.slice(2) as [string, string, string, string];

function statusKb(field: 'VmHWM' | 'VmRSS'): number {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN);
}

const cpuSeconds = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
};
const mm = await openMatMul(1024, 1024, 1024, { intraOpNumThreads: 1 });
await mm.run();
const mmStart = process.cpuUsage();
for (let i = 0; i < 5; i++) await mm.run();
const gflops = (5 * 2 * 1024 ** 3) / cpuSeconds(mmStart) / 1e9;
await mm.release();
// Token streams as the worker hands them to training techniques (ids within the vocabulary).
const V = Number(vocab);
const trainingTokens = Int32Array.from({ length: 200_000 }, (_, i) => (i * 7919 + (i >> 3)) % V);
const evalTokens = Int32Array.from({ length: 8192 }, (_, i) => (i * 104729) % V);
const technique = registry.get(techniqueId);
const params = technique.params.parse(JSON.parse(paramsJson));

// Linux: writing 5 resets the peak resident size to the current one.
writeFileSync('/proc/self/clear_refs', '5');
const before = statusKb('VmRSS');
const started = process.cpuUsage();
const bytes = readFileSync(file);
const result = await technique.apply(decodeModel(bytes), params, quietContext({ trainingTokens, evalTokens }));
const out = serializeModel(result.model).model;
const seconds = cpuSeconds(started);
const peakBytes = (statusKb('VmHWM') - before) * 1024;
process.stdout.write(`${JSON.stringify({ peakBytes, seconds, gflops, outBytes: out.byteLength })}\n`);
