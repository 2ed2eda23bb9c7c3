/** Sweep queries, and the figures the sweep pages derive from an answer. */
import { escapeHtml } from './escape-html';

const SWEEP_FIELDS = 'id name mode status note maxRuns parallelism objective createdAt runs { id status }';

export const SWEEPS = `query Sweeps($projectId: ID!) { sweeps(projectId: $projectId) { ${SWEEP_FIELDS} } }`;
export const SWEEP = `query Sweep($id: ID!) { sweep(id: $id) { ${SWEEP_FIELDS} space recipe project { id name team { id name } } baseModel { id name } } }`;
export const SWEEP_FRONT = `query SweepFront($sweepId: ID!, $x: String!, $y: String!) {
  pareto(sweepId: $sweepId, x: $x, y: $y) {
    x { name label unit } y { name label unit }
    frontier { run { id } x y }
    dominated { run { id } x y }
    missing
  }
}`;
export const RECIPES = `query Recipes($teamId: ID!) { recipes(teamId: $teamId) { id name version description } }`;
export const CREATE_SWEEP = `mutation CreateSweep($projectId: ID!, $baseModelId: ID!, $name: String!, $mode: SweepMode!, $recipeId: ID, $space: JSON!, $maxRuns: Int!, $parallelism: Int) {
  createSweep(projectId: $projectId, baseModelId: $baseModelId, name: $name, mode: $mode, recipeId: $recipeId, space: $space, maxRuns: $maxRuns, parallelism: $parallelism) { id }
}`;
export const CANCEL_SWEEP = `mutation CancelSweep($id: ID!) { cancelSweep(id: $id) { id status } }`;

export type SweepMode = 'grid' | 'random' | 'pareto';

export interface SweepSummary {
  id: string;
  name: string;
  mode: SweepMode;
  status: 'active' | 'canceling' | 'done' | 'canceled';
  note: string | null;
  maxRuns: number;
  parallelism: number;
  objective: { x?: string; y?: string } | null;
  createdAt: string;
  runs: { id: string; status: string }[];
}

export interface SweepDetail extends SweepSummary {
  space: unknown;
  recipe: unknown;
  project: { id: string; name: string; team: { id: string; name: string } };
  baseModel: { id: string; name: string };
}

export interface FrontPoint {
  run: { id: string };
  x: number;
  y: number;
}

export interface SweepFront {
  x: { name: string; label: string | null; unit: string | null };
  y: { name: string; label: string | null; unit: string | null };
  frontier: FrontPoint[];
  dominated: FrontPoint[];
  missing: number;
}

export interface SweepProgress {
  finished: number;
  running: number;
  queued: number;
  /** Finished runs over the sweep's budget (maxRuns), 0..1. */
  fraction: number;
}

export function sweepProgress(s: Pick<SweepSummary, 'runs' | 'maxRuns'>): SweepProgress {
  const count = (wanted: string[]) => s.runs.filter((r) => wanted.includes(r.status)).length;
  const finished = count(['succeeded', 'failed', 'canceled']);
  return { finished, running: count(['running']), queued: count(['queued']), fraction: s.maxRuns > 0 ? Math.min(1, finished / s.maxRuns) : 0 };
}

/** The search space typed as JSON: a non-empty array of {path, values | min/max}; errors name the problem. */
export function parseSpace(text: string): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`the search space is not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(value) || value.length === 0) throw new Error('the search space must be a non-empty JSON array of {"path", "values"} entries');
  value.forEach((d: unknown, i) => {
    if (!d || typeof d !== 'object' || typeof (d as { path?: unknown }).path !== 'string') throw new Error(`search space entry ${i + 1} needs a "path" string`);
  });
  return value;
}

/** Scatter of a sweep's runs with the frontier joined in x order; tooltips escape run ids. */
export function frontOption(front: SweepFront) {
  const axis = (a: SweepFront['x']) => `${a.label ?? a.name}${a.unit ? ` (${a.unit})` : ''}`;
  const point = (p: FrontPoint) => ({ value: [p.x, p.y], runId: p.run.id });
  return {
    tooltip: {
      trigger: 'item',
      formatter: (p: { seriesName?: string; data?: { value: [number, number]; runId: string } }) =>
        p.data ? `${escapeHtml(p.seriesName ?? '')} run ${escapeHtml(p.data.runId.slice(0, 8))}<br/>${escapeHtml(axis(front.x))}: ${p.data.value[0].toPrecision(4)}<br/>${escapeHtml(axis(front.y))}: ${p.data.value[1].toPrecision(4)}` : '',
    },
    legend: { top: 0 },
    grid: { left: 60, right: 20, top: 40, bottom: 50, containLabel: true },
    xAxis: { type: 'value', name: axis(front.x), nameLocation: 'middle', nameGap: 30, scale: true },
    yAxis: { type: 'value', name: axis(front.y), nameLocation: 'middle', nameGap: 45, scale: true },
    series: [
      { name: 'Frontier', type: 'line', symbolSize: 10, data: [...front.frontier].sort((a, b) => a.x - b.x).map(point) },
      { name: 'Dominated', type: 'scatter', symbolSize: 7, itemStyle: { color: '#adb5bd' }, data: front.dominated.map(point) },
    ],
  };
}
