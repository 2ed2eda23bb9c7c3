/**
 * The base model is evaluated once per (model bytes, tokenizer, evaluation suite hash) and
 * reused by later runs: from this process's memory, else from the `base.*` metrics and
 * task scores of an earlier succeeded run on the same bytes under the same suite. Its
 * log-distribution for KL lives beside, in the base cache folder (packages/eval
 * base-reference.ts), under a key of the same three hashes.
 */
import type { PrismaClient } from '@distillery/db';
import { baseRowsKey, metricCatalogue, metricKeys, type EvaluationSuite, type ModelEvaluation, type ModelFigures, type TaskScore } from '@distillery/eval';
import type { SensitivityRow } from '@distillery/techniques';

export interface BaseEvaluationKey {
  modelSha256: string;
  tokenizerSha256: string | null;
  suiteHash: string;
}

export function baseEvaluationKey(k: BaseEvaluationKey): string {
  return [k.modelSha256, k.tokenizerSha256 ?? '-', k.suiteHash].join(':');
}

/** Where the base's log-distribution is cached; null without a tokenizer (nothing to compare). */
export function baseCacheKey(k: BaseEvaluationKey): string | null {
  return k.tokenizerSha256 === null ? null : baseRowsKey(k.modelSha256, k.tokenizerSha256, k.suiteHash);
}

/** A small in-process cache; oldest entries go first. */
export class BaseEvaluationCache {
  private readonly entries = new Map<string, ModelEvaluation>();
  constructor(private readonly capacity = 64) {}

  get(key: BaseEvaluationKey): ModelEvaluation | undefined {
    return this.entries.get(baseEvaluationKey(key));
  }

  set(key: BaseEvaluationKey, value: ModelEvaluation): void {
    const k = baseEvaluationKey(key);
    this.entries.delete(k);
    this.entries.set(k, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
}

/** The hash of a model's tokenizer.json, through its tokenizer artifact (Model.tokenizerId). */
export function tokenizerShaOf(model: { tokenizer?: { sha256: string } | null }): string | null {
  return model.tokenizer?.sha256 ?? null;
}

/** What Run.evaluation holds (execute-run.ts writes it). */
export interface RunEvaluationRecord {
  suite: EvaluationSuite;
  tasks: { output: TaskScore[]; base: TaskScore[] };
  samples: { prompt: string; output: { greedy: string; sampled: string }; base: { greedy: string; sampled: string } | null }[];
  notes: string[];
  /** Per-layer sensitivity of the output model (`recipe.eval.sensitivity`). */
  sensitivity?: SensitivityRow[];
}

// Latency and memory are measured again every run, next to the output model's.
const CACHED_FAMILIES = new Set(['size', 'quality', 'task']);
const CANDIDATES = 20;

export async function findRecordedBaseEvaluation(prisma: PrismaClient, key: BaseEvaluationKey): Promise<ModelEvaluation | null> {
  const runs = await prisma.run.findMany({
    where: { status: 'succeeded', baseModel: { sha256: key.modelSha256 }, evaluation: { path: ['suite', 'hash'], equals: key.suiteHash } },
    orderBy: [{ finishedAt: 'desc' }],
    take: CANDIDATES,
    select: { evaluation: true, baseModel: { select: { tokenizer: { select: { sha256: true } } } }, metrics: { where: { runStepId: null, name: { startsWith: 'base.' } }, select: { name: true, value: true } } },
  });
  for (const run of runs) {
    if (tokenizerShaOf(run.baseModel) !== key.tokenizerSha256) continue;
    const stored = new Map(run.metrics.map((x) => [x.name, x.value]));
    const figures: ModelFigures = {};
    for (const k of metricKeys) {
      const entry = metricCatalogue[k];
      const name = entry.names.base;
      if (name === undefined || !CACHED_FAMILIES.has(entry.family)) continue;
      const v = stored.get(name);
      if (v !== undefined) figures[k] = v;
    }
    if (figures.sizeBytes === undefined) continue;
    // A tokenizer means a perplexity was expected; a record without one is not a full evaluation.
    if (key.tokenizerSha256 !== null && figures.perplexity === undefined) continue;
    const record = run.evaluation as unknown as RunEvaluationRecord | null;
    return { figures, tasks: record?.tasks?.base ?? [] };
  }
  return null;
}
