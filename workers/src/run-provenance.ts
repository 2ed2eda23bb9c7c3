/**
 * What a run's result depends on besides its recipe, recorded with the result
 * (Run.provenance): the exact inputs (base model and tokenizer bytes, recipe, seed, data
 * split, calibration sample), and the machinery (code version, ONNX Runtime version, thread
 * layout), so a re-run can be judged against the same conditions.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BUNDLED_SPLIT_SEED, splitBundledCorpora } from '@distillery/data';
import { canonicalJson, sha256Hex } from '@distillery/eval';
import * as ort from 'onnxruntime-node';

export interface RunProvenance {
  codeVersion: string;
  ortVersion: string;
  nodeVersion: string;
  /** Piscina threads of the worker process; each technique session uses one ORT thread. */
  workerThreads: number;
  /** ORT threads of the final evaluation (the suite setting). */
  evaluationThreads: number;
  seed: number;
  baseModel: { id: string; sha256: string; tokenizerSha256: string | null };
  recipeSha256: string;
  dataSplit: { name: string; seed: number; hashes: Readonly<Record<string, string>> };
  calibrationSha256: string | null;
  evaluationSuiteHash: string;
}

const repoRoot = path.resolve(import.meta.dirname, '../..');

let codeVersionMemo: string | undefined;
/** `git describe` of the checkout the worker runs from, or the package version outside git. */
export function codeVersion(): string {
  if (codeVersionMemo !== undefined) return codeVersionMemo;
  try {
    codeVersionMemo = execFileSync('git', ['describe', '--always', '--dirty', '--tags'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version?: string };
    codeVersionMemo = `v${pkg.version ?? 'unknown'}`;
  }
  return codeVersionMemo;
}

let splitMemo: RunProvenance['dataSplit'] | undefined;
function bundledSplit(): RunProvenance['dataSplit'] {
  splitMemo ??= { name: 'bundled', seed: BUNDLED_SPLIT_SEED, hashes: splitBundledCorpora().descriptor.hashes };
  return splitMemo;
}

/** Computes the process-wide parts (code version, split hashes) ahead of the first run. */
export function warmProvenance(): void {
  codeVersion();
  bundledSplit();
}

export interface ProvenanceInput {
  seed: number;
  recipe: unknown;
  baseModel: { id: string; sha256: string; tokenizerSha256: string | null };
  workerThreads: number;
  evaluationThreads: number;
  calibrationSha256: string | null;
  evaluationSuiteHash: string;
}

export function runProvenance(i: ProvenanceInput): RunProvenance {
  return {
    codeVersion: codeVersion(),
    ortVersion: ort.env.versions.common ?? 'unknown',
    nodeVersion: process.version,
    workerThreads: i.workerThreads,
    evaluationThreads: i.evaluationThreads,
    seed: i.seed,
    baseModel: i.baseModel,
    recipeSha256: sha256Hex(canonicalJson(i.recipe)),
    dataSplit: bundledSplit(),
    calibrationSha256: i.calibrationSha256,
    evaluationSuiteHash: i.evaluationSuiteHash,
  };
}
