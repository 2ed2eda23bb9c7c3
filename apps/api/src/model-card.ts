/**
 * The model card of a produced model (README.md of its folder), in the spirit of
 * Mitchell et al. 2019, "Model Cards for Model Reporting": what the model is, how it was
 * made (recipe, evaluation suite), what it measured, and where it came from.
 */
import { describeMetric } from '@distillery/eval/metric-catalogue';

export interface ModelCardInput {
  model: { id: string; name: string; sha256: string; bytes: number; parameterCount: number; createdAt: Date };
  run: { id: string; recipe: unknown; seed: number; evaluation: unknown; finishedAt: Date | null } | null;
  metrics: { name: string; value: number }[];
  /** Ancestors, nearest first. */
  lineage: { id: string; name: string; sha256: string }[];
  files: { path: string; sha256: string; bytes: number }[];
}

function formatValue(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(6);
}

function suiteOf(evaluation: unknown): string | null {
  const suite = (evaluation as { suite?: { id?: unknown; version?: unknown; hash?: unknown } } | null)?.suite;
  if (!suite || typeof suite.id !== 'string') return null;
  return `${suite.id} v${String(suite.version)} (hash ${String(suite.hash).slice(0, 12)})`;
}

export function modelCard(c: ModelCardInput): string {
  const lines: string[] = [`# ${c.model.name}`, ''];
  lines.push(`- id: \`${c.model.id}\``, `- sha256 of onnx/model.onnx: \`${c.model.sha256}\``, `- size: ${c.model.bytes} bytes, ${c.model.parameterCount} parameters`);
  lines.push(`- created: ${c.model.createdAt.toISOString()}`, '');
  lines.push('## Lineage', '');
  if (c.lineage.length) {
    const chain = [...c.lineage].reverse().map((m) => `${m.name} (\`${m.sha256.slice(0, 12)}\`)`);
    lines.push(`${chain.join(' -> ')} -> **${c.model.name}**`);
  } else lines.push('An imported model (no parent).');
  lines.push('');
  if (c.run) {
    lines.push('## Recipe', '', `Run \`${c.run.id}\`, seed ${c.run.seed}${c.run.finishedAt ? `, finished ${c.run.finishedAt.toISOString()}` : ''}.`, '');
    lines.push('```json', JSON.stringify(c.run.recipe, null, 2), '```', '');
    const suite = suiteOf(c.run.evaluation);
    if (suite) lines.push(`Evaluation suite: ${suite}.`, '');
  }
  const known = c.metrics.filter((m) => describeMetric(m.name)).sort((a, b) => a.name.localeCompare(b.name));
  if (known.length) {
    lines.push('## Metrics', '', '| metric | value | unit | better |', '| --- | --- | --- | --- |');
    for (const m of known) {
      const d = describeMetric(m.name)!;
      const better = d.lowerIsBetter === null ? '' : d.lowerIsBetter ? 'lower' : 'higher';
      lines.push(`| ${d.label} (\`${m.name}\`) | ${formatValue(m.value)} | ${d.unit} | ${better} |`);
    }
    lines.push('');
  }
  lines.push('## Files', '', '| path | bytes | sha256 |', '| --- | --- | --- |');
  for (const f of c.files) lines.push(`| ${f.path} | ${f.bytes} | \`${f.sha256}\` |`);
  lines.push('', 'README.md (this card) is generated when downloaded; its own hash is listed by the API.', '');
  return lines.join('\n');
}
