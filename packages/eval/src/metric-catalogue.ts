/**
 * The metric catalogue: every figure a run records, with its human label, unit, direction
 * and family. Worker, API and dashboard import this one table; the worker records a value
 * by its entry and scope, and readers look a stored name up here, so metric names are
 * never assembled from pieces or split apart again. This module imports nothing, so the
 * API process can use it without loading ONNX Runtime (`@distillery/eval/metric-catalogue`).
 */

export type MetricFamily = 'size' | 'quality' | 'divergence' | 'task' | 'latency' | 'memory' | 'setting';

/**
 * Whose figure a stored value is: the run's output model, its base model, the output
 * relative to the base (output / base), the difference (output - base), or the run's
 * evaluation settings.
 */
export type MetricScope = 'model' | 'base' | 'ratio' | 'delta' | 'setting';

export interface MetricEntry {
  key: string;
  label: string;
  unit: string;
  /** null: neither direction is better (counts, settings). */
  lowerIsBetter: boolean | null;
  family: MetricFamily;
  /** The stored name in each scope the metric is recorded in. */
  names: Partial<Record<MetricScope, string>>;
}

type EntrySpec = Omit<MetricEntry, 'names' | 'key'> & { scopes: readonly MetricScope[]; model?: string; ratio?: string; delta?: string };

// Names predating the catalogue (size.bytes / ratio.size) are kept so stored runs stay readable.
const SPECS = {
  sizeBytes: { label: 'Size on disk', unit: 'bytes', lowerIsBetter: true, family: 'size', scopes: ['model', 'base', 'ratio'], model: 'size.bytes', ratio: 'ratio.size' },
  parameters: { label: 'Parameters (initializer elements)', unit: 'count', lowerIsBetter: true, family: 'size', scopes: ['model', 'base', 'ratio'] },
  weightParameters: { label: 'Weights (no RoPE tables or quantization scales)', unit: 'count', lowerIsBetter: true, family: 'size', scopes: ['model', 'base', 'ratio'], model: 'weights.parameters' },
  weightBytes: { label: 'Weight bytes', unit: 'bytes', lowerIsBetter: true, family: 'size', scopes: ['model', 'base', 'ratio'], model: 'weights.bytes' },
  scaleBytes: { label: 'Quantization scale and zero-point bytes', unit: 'bytes', lowerIsBetter: true, family: 'size', scopes: ['model', 'base'], model: 'weights.scaleBytes' },
  bitsPerWeight: { label: 'Bits per weight (scales included)', unit: 'bits', lowerIsBetter: true, family: 'size', scopes: ['model', 'base', 'ratio'], model: 'weights.bitsPerWeight' },
  perplexity: { label: 'Perplexity (test split)', unit: '', lowerIsBetter: true, family: 'quality', scopes: ['model', 'base', 'ratio', 'delta'] },
  nll: { label: 'Mean negative log-likelihood', unit: 'nats/token', lowerIsBetter: true, family: 'quality', scopes: ['model', 'base'] },
  bitsPerByte: { label: 'Bits per byte (test split)', unit: 'bits/byte', lowerIsBetter: true, family: 'quality', scopes: ['model', 'base', 'ratio', 'delta'] },
  scoredTokens: { label: 'Scored tokens', unit: 'tokens', lowerIsBetter: null, family: 'quality', scopes: ['model', 'base'], model: 'eval.tokens' },
  scoredBytes: { label: 'Bytes of the scored text', unit: 'bytes', lowerIsBetter: null, family: 'quality', scopes: ['model', 'base'], model: 'eval.bytes' },
  windows: { label: 'Windows', unit: 'count', lowerIsBetter: null, family: 'quality', scopes: ['model', 'base'], model: 'eval.windows' },
  window: { label: 'Window length', unit: 'tokens', lowerIsBetter: null, family: 'quality', scopes: ['model', 'base'], model: 'eval.window' },
  stride: { label: 'Stride', unit: 'tokens', lowerIsBetter: null, family: 'quality', scopes: ['model', 'base'], model: 'eval.stride' },
  klDivergence: { label: 'Mean KL(base ‖ output)', unit: 'nats/token', lowerIsBetter: true, family: 'divergence', scopes: ['model'], model: 'divergence.kl' },
  top1Agreement: { label: 'Top-1 agreement with the base', unit: 'fraction', lowerIsBetter: false, family: 'divergence', scopes: ['model'], model: 'divergence.top1' },
  top5Agreement: { label: "Base's top token in the output's top 5", unit: 'fraction', lowerIsBetter: false, family: 'divergence', scopes: ['model'], model: 'divergence.top5' },
  divergenceTokens: { label: 'Tokens compared with the base', unit: 'tokens', lowerIsBetter: null, family: 'divergence', scopes: ['model'], model: 'divergence.tokens' },
  clozeAccuracy: { label: 'Cloze accuracy (last word)', unit: 'fraction', lowerIsBetter: false, family: 'task', scopes: ['model', 'base', 'delta'], model: 'task.cloze.accuracy' },
  clozeItems: { label: 'Cloze passages', unit: 'count', lowerIsBetter: null, family: 'task', scopes: ['model'], model: 'task.cloze.items' },
  choiceAccuracy: { label: 'Multiple-choice accuracy', unit: 'fraction', lowerIsBetter: false, family: 'task', scopes: ['model', 'base', 'delta'], model: 'task.choice.accuracy' },
  choiceAccuracyNorm: { label: 'Multiple-choice accuracy, length-normalized', unit: 'fraction', lowerIsBetter: false, family: 'task', scopes: ['model', 'base', 'delta'], model: 'task.choice.accuracyNorm' },
  choiceItems: { label: 'Multiple-choice items', unit: 'count', lowerIsBetter: null, family: 'task', scopes: ['model'], model: 'task.choice.items' },
  prefillTokensPerSecond: { label: 'Prefill throughput', unit: 'tokens/s', lowerIsBetter: false, family: 'latency', scopes: ['model', 'base', 'ratio'], model: 'latency.prefillTokensPerSecond' },
  decodeMsP50: { label: 'Decode time per token, p50', unit: 'ms', lowerIsBetter: true, family: 'latency', scopes: ['model', 'base', 'ratio'], model: 'latency.decodeMs.p50' },
  decodeMsP95: { label: 'Decode time per token, p95', unit: 'ms', lowerIsBetter: true, family: 'latency', scopes: ['model', 'base', 'ratio'], model: 'latency.decodeMs.p95' },
  peakRssDelta: { label: 'Peak memory during inference (RSS over the pre-session level)', unit: 'bytes', lowerIsBetter: true, family: 'memory', scopes: ['model', 'base', 'ratio'], model: 'memory.peakRssDelta' },
  evalThroughput: { label: 'Evaluation throughput', unit: 'tokens/s', lowerIsBetter: false, family: 'quality', scopes: ['model', 'base'], model: 'eval.tokensPerSecond' },
  maxTokens: { label: 'Test tokens requested', unit: 'tokens', lowerIsBetter: null, family: 'setting', scopes: ['setting'] },
  requestedWindow: { label: 'Requested window (0: the model context)', unit: 'tokens', lowerIsBetter: null, family: 'setting', scopes: ['setting'] },
  requestedStride: { label: 'Requested stride (0: the window)', unit: 'tokens', lowerIsBetter: null, family: 'setting', scopes: ['setting'] },
  perplexitySkipped: { label: 'Perplexity skipped (no tokenizer)', unit: 'flag', lowerIsBetter: null, family: 'setting', scopes: ['setting'] },
  ortThreads: { label: 'ONNX Runtime intra-op threads', unit: 'threads', lowerIsBetter: null, family: 'setting', scopes: ['setting'] },
  batchWindows: { label: 'Windows per ORT call', unit: 'windows', lowerIsBetter: null, family: 'setting', scopes: ['setting'] },
  latencyPromptLength: { label: 'Latency prompt length', unit: 'tokens', lowerIsBetter: null, family: 'setting', scopes: ['setting'] },
  latencyDecodeTokens: { label: 'Latency decoded tokens per run', unit: 'tokens', lowerIsBetter: null, family: 'setting', scopes: ['setting'] },
  suiteVersion: { label: 'Evaluation suite version', unit: 'version', lowerIsBetter: null, family: 'setting', scopes: ['setting'] },
} as const satisfies Record<string, EntrySpec>;

export type MetricKey = keyof typeof SPECS;

/** Per-key the stored names (scope `setting` lives under `eval.`). */
function namesOf(key: string, spec: EntrySpec): Partial<Record<MetricScope, string>> {
  const model = spec.model ?? key;
  const names: Partial<Record<MetricScope, string>> = {};
  for (const scope of spec.scopes) {
    if (scope === 'model') names.model = model;
    else if (scope === 'base') names.base = `base.${model}`;
    else if (scope === 'ratio') names.ratio = spec.ratio ?? `ratio.${model}`;
    else if (scope === 'delta') names.delta = spec.delta ?? `delta.${model}`;
    else names.setting = `eval.${key}`;
  }
  return names;
}

export const metricCatalogue: Readonly<Record<MetricKey, MetricEntry>> = Object.fromEntries(
  Object.entries(SPECS).map(([key, spec]) => {
    const { scopes: _scopes, model: _m, ratio: _r, delta: _d, ...rest } = spec as EntrySpec;
    return [key, { key, ...rest, names: namesOf(key, spec as EntrySpec) }];
  }),
) as Record<MetricKey, MetricEntry>;

export const metricKeys = Object.keys(SPECS) as MetricKey[];

/** The stored name of `key` in `scope`; throws for a scope the entry is not recorded in. */
export function metricName(key: MetricKey, scope: MetricScope): string {
  const name = metricCatalogue[key].names[scope];
  if (name === undefined) throw new Error(`metric "${key}" is not recorded in scope "${scope}"`);
  return name;
}

export interface MetricDescription {
  key: MetricKey;
  scope: MetricScope;
  label: string;
  unit: string;
  lowerIsBetter: boolean | null;
  family: MetricFamily;
}

const SCOPE_LABEL: Record<MetricScope, (label: string) => string> = {
  model: (l) => l,
  base: (l) => `${l} (base model)`,
  ratio: (l) => `${l}, output / base`,
  delta: (l) => `${l}, output − base`,
  setting: (l) => l,
};

const byName = new Map<string, MetricDescription>();
for (const key of metricKeys) {
  const e = metricCatalogue[key];
  for (const [scope, name] of Object.entries(e.names) as [MetricScope, string][]) {
    if (byName.has(name)) throw new Error(`metric name "${name}" is defined twice in the catalogue`);
    byName.set(name, {
      key,
      scope,
      label: SCOPE_LABEL[scope](e.label),
      // A ratio has no unit; a difference keeps the metric's.
      unit: scope === 'ratio' ? 'ratio' : e.unit,
      lowerIsBetter: e.lowerIsBetter,
      family: e.family,
    });
  }
}

/** What a stored metric name means; undefined for names outside the catalogue (a step's own report figures). */
export function describeMetric(name: string): MetricDescription | undefined {
  return byName.get(name);
}

/** Every stored name with its description, for the API's `metricCatalogue` query. */
export function catalogueNames(): { name: string; description: MetricDescription }[] {
  return [...byName.entries()].map(([name, description]) => ({ name, description }));
}

/** Figures of one model, keyed by catalogue entry (model scope). */
export type ModelFigures = Partial<Record<MetricKey, number>>;
