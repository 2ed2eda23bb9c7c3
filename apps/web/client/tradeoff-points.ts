/**
 * The points of a trade-off scatter from the API's `pareto` answer: the frontier and the
 * dominated runs as the API decided them, plus one point per distinct base model that has
 * both figures (from the base-scope names of the catalogue). Pure.
 */
import { baseNameOf } from '@distillery/eval/metric-table';

export interface ScatterPoint {
  /** A run's id, or `base:<model id>` for a base model. */
  key: string;
  kind: 'run' | 'base';
  label: string;
  x: number;
  y: number;
  frontier: boolean;
  /** How many frontier runs beat this one (0 on the frontier and for base models). */
  dominatedBy: number;
}

export interface ParetoRun {
  id: string;
  recipe: unknown;
  baseModelId: string;
}

export interface ParetoAnswer {
  frontier: { x: number; y: number; run: ParetoRun }[];
  dominated: { x: number; y: number; dominatedByCount: number; run: ParetoRun }[];
  missing: number;
}

/**
 * Per point only what the chart draws and labels: the run's id, base model id and recipe, read by the API
 * for every point in one query (asking for `run { … }` would read each run in full).
 */
const PARETO_POINT = 'x y runId baseModelId recipe';

/**
 * Give exactly one of projectId and sweepId; runIds narrows to those runs, filter to the runs the runs list's filter selects.
 * Only what the chart draws: the count of a run's dominators, not their ids (a list per run over a large project).
 */
export const PARETO = `query Tradeoff($projectId: ID, $sweepId: ID, $x: String!, $y: String!, $runIds: [ID!], $filter: RunFilter) {
  pareto(projectId: $projectId, sweepId: $sweepId, x: $x, y: $y, runIds: $runIds, filter: $filter) {
    frontier { ${PARETO_POINT} }
    dominated { ${PARETO_POINT} dominatedByCount }
    missing
  }
}`;

interface WirePoint {
  x: number;
  y: number;
  runId: string;
  baseModelId: string;
  recipe: unknown;
}

/** The `pareto` answer as PARETO asks for it. */
export interface ParetoWire {
  frontier: WirePoint[];
  dominated: (WirePoint & { dominatedByCount: number })[];
  missing: number;
}

/** PARETO's flat points with their run's fields gathered under `run`. */
export function paretoAnswer(wire: ParetoWire): ParetoAnswer {
  const runOf = (p: WirePoint): ParetoRun => ({ id: p.runId, recipe: p.recipe, baseModelId: p.baseModelId });
  return {
    frontier: wire.frontier.map((p) => ({ x: p.x, y: p.y, run: runOf(p) })),
    dominated: wire.dominated.map((p) => ({ x: p.x, y: p.y, dominatedByCount: p.dominatedByCount, run: runOf(p) })),
    missing: wire.missing,
  };
}

/** The run-level figures and base model name of one run per base model (aliases b0, b1, …), to place the base models. */
export function baseFiguresQuery(count: number): string {
  const vars = Array.from({ length: count }, (_, i) => `$b${i}: ID!`).join(', ');
  const fields = Array.from({ length: count }, (_, i) => `b${i}: run(id: $b${i}) { baseModel { id name } metrics { name value runStepId } }`).join('\n');
  return `query BaseFigures(${vars}) {\n${fields}\n}`;
}

/** One run of each distinct base model among the answer's runs, by base model id. */
export function runPerBase(front: ParetoAnswer): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of [...front.frontier, ...front.dominated]) if (!out.has(p.run.baseModelId)) out.set(p.run.baseModelId, p.run.id);
  return out;
}

export interface BaseFigures {
  name: string;
  values: ReadonlyMap<string, number>;
}

export function scatterPoints(
  front: ParetoAnswer,
  xName: string,
  yName: string,
  labelOf: (run: ParetoRun) => string,
  /** The name and run-level figures of a run of each base model, by base model id. */
  baseFigures: ReadonlyMap<string, BaseFigures> = new Map(),
): ScatterPoint[] {
  const runs: ScatterPoint[] = [
    ...front.frontier.map((p) => ({ key: p.run.id, kind: 'run' as const, label: labelOf(p.run), x: p.x, y: p.y, frontier: true, dominatedBy: 0 })),
    ...front.dominated.map((p) => ({ key: p.run.id, kind: 'run' as const, label: labelOf(p.run), x: p.x, y: p.y, frontier: false, dominatedBy: p.dominatedByCount })),
  ];
  if (runs.length === 0) return [];
  const bx = baseNameOf(xName);
  const by = baseNameOf(yName);
  const bases: ScatterPoint[] = [];
  for (const id of runPerBase(front).keys()) {
    const b = baseFigures.get(id);
    const x = bx ? b?.values.get(bx) : undefined;
    const y = by ? b?.values.get(by) : undefined;
    if (b && x !== undefined && y !== undefined) bases.push({ key: `base:${id}`, kind: 'base', label: b.name, x, y, frontier: false, dominatedBy: 0 });
  }
  return [...runs, ...bases];
}

/** Frontier runs in the order the frontier line joins them (by x). */
export function frontierLine(points: ReadonlyArray<ScatterPoint>): ScatterPoint[] {
  return points.filter((p) => p.kind === 'run' && p.frontier).sort((a, b) => a.x - b.x || a.y - b.y);
}
