/**
 * The base model is evaluated once per (model bytes, tokenizer, evaluation settings) and
 * reused by later runs: from this process's memory, else from the `base.*` metrics of an
 * earlier succeeded run on the same bytes with the same settings.
 */
import type { PrismaClient } from '@distillery/db';
import type { EvaluateTaskOutput, EvaluationSettings } from './thread-messages';

export interface BaseEvaluationKey {
  modelSha256: string;
  tokenizerSha256: string | null;
  settings: EvaluationSettings;
}

export function baseEvaluationKey(k: BaseEvaluationKey): string {
  const s = k.settings;
  return [k.modelSha256, k.tokenizerSha256 ?? '-', s.maxTokens, s.window ?? 0, s.stride ?? 0].join(':');
}

/** A small in-process cache; oldest entries go first. */
export class BaseEvaluationCache {
  private readonly entries = new Map<string, EvaluateTaskOutput>();
  constructor(private readonly capacity = 64) {}

  get(key: BaseEvaluationKey): EvaluateTaskOutput | undefined {
    return this.entries.get(baseEvaluationKey(key));
  }

  set(key: BaseEvaluationKey, value: EvaluateTaskOutput): void {
    const k = baseEvaluationKey(key);
    this.entries.delete(k);
    this.entries.set(k, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
}

/** The model config Json names its tokenizer.json artifact as `{ tokenizerSha256 }`. */
export function tokenizerShaOf(config: unknown): string | null {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) return null;
  const sha = (config as Record<string, unknown>).tokenizerSha256;
  return typeof sha === 'string' ? sha : null;
}

const CANDIDATES = 20;

export async function findRecordedBaseEvaluation(prisma: PrismaClient, key: BaseEvaluationKey): Promise<EvaluateTaskOutput | null> {
  const runs = await prisma.run.findMany({
    where: { status: 'succeeded', baseModel: { sha256: key.modelSha256 } },
    orderBy: [{ finishedAt: 'desc' }],
    take: CANDIDATES,
    select: {
      baseModel: { select: { config: true } },
      metrics: { where: { runStepId: null, OR: [{ name: { startsWith: 'base.' } }, { name: { startsWith: 'eval.' } }] }, select: { name: true, value: true } },
    },
  });
  for (const run of runs) {
    if (tokenizerShaOf(run.baseModel.config) !== key.tokenizerSha256) continue;
    const m = new Map(run.metrics.map((x) => [x.name, x.value]));
    const s = key.settings;
    if (m.get('eval.maxTokens') !== s.maxTokens || m.get('eval.requestedWindow') !== (s.window ?? 0) || m.get('eval.requestedStride') !== (s.stride ?? 0)) continue;
    const bytes = m.get('base.size.bytes');
    const parameters = m.get('base.parameters');
    if (bytes === undefined || parameters === undefined) continue;
    const ppl = m.get('base.perplexity');
    if (ppl === undefined) {
      if (key.tokenizerSha256 !== null) continue; // perplexity expected but not recorded
      return { bytes, parameters, perplexity: null, note: 'perplexity skipped: the model has no tokenizer' };
    }
    const need = ['base.nll', 'base.eval.tokens', 'base.eval.windows', 'base.eval.window', 'base.eval.stride'].map((n) => m.get(n));
    if (need.some((v) => v === undefined)) continue;
    const [nll, tokens, windows, window, stride] = need as number[];
    return { bytes, parameters, perplexity: { perplexity: ppl, nll: nll!, tokens: tokens!, windows: windows!, window: window!, stride: stride! } };
  }
  return null;
}
