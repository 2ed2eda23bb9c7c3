/**
 * Reads the parts of a run's stored evaluation (Run.evaluation, JSON) the run page shows:
 * the generated samples of the output and base models, and the suite's notes. Tolerant:
 * anything not shaped as expected is left out rather than shown wrong. Pure.
 */

export interface SampleText {
  greedy: string;
  sampled: string;
}

export interface SamplePair {
  prompt: string;
  output: SampleText;
  base: SampleText | null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sampleText(v: unknown): SampleText | null {
  if (!isRecord(v) || typeof v.greedy !== 'string' || typeof v.sampled !== 'string') return null;
  return { greedy: v.greedy, sampled: v.sampled };
}

export function evaluationSamples(evaluation: unknown): SamplePair[] {
  if (!isRecord(evaluation) || !Array.isArray(evaluation.samples)) return [];
  const out: SamplePair[] = [];
  for (const s of evaluation.samples) {
    if (!isRecord(s) || typeof s.prompt !== 'string') continue;
    const output = sampleText(s.output);
    if (!output) continue;
    out.push({ prompt: s.prompt, output, base: sampleText(s.base) });
  }
  return out;
}

export function evaluationNotes(evaluation: unknown): string[] {
  if (!isRecord(evaluation) || !Array.isArray(evaluation.notes)) return [];
  return evaluation.notes.filter((n): n is string => typeof n === 'string');
}
