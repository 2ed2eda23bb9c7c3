/**
 * Loads the runs of a comparison and their series through GraphQL, a few runs per request
 * (the API caps aliases per query), the requests in parallel.
 */
import { batches } from '../client/batches';
import { gql } from '../client/graphql';
import { runsByIdQuery, seriesByRunQuery, type RunRow } from '../client/queries';

/** Aliases per request: the API's default limit (GRAPHQL_MAX_ALIASES), so 100 runs take 7 requests. */
const PER_REQUEST = 15;

export type CompareRun = RunRow & { project?: { id: string; name: string; team: { id: string; name: string } } };

/** The runs in the link's order; the first carries the project (for the breadcrumbs). */
export async function loadCompareRuns(ids: string[]): Promise<CompareRun[]> {
  const groups = batches(ids, PER_REQUEST);
  const answers = await Promise.all(
    groups.map((g, gi) => gql<Record<string, CompareRun>>(runsByIdQuery(g.length, gi === 0), Object.fromEntries(g.map((id, i) => [`r${i}`, id])))),
  );
  return answers.flatMap((a, gi) => groups[gi]!.map((_, i) => a[`r${i}`]!));
}

export async function loadSeries(ids: string[], name: string): Promise<Map<string, { step: number | null; value: number }[]>> {
  const groups = batches(ids, PER_REQUEST);
  const answers = await Promise.all(
    groups.map((g) =>
      gql<Record<string, { id: string; metricSeries: { step: number | null; value: number }[] }>>(seriesByRunQuery(g.length), {
        name,
        ...Object.fromEntries(g.map((id, i) => [`r${i}`, id])),
      }),
    ),
  );
  const out = new Map<string, { step: number | null; value: number }[]>();
  for (const a of answers) for (const r of Object.values(a)) out.set(r.id, r.metricSeries);
  return out;
}
