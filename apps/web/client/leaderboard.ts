/** The leaderboard query, its answer's shape, and the budget inputs read from the form. */
export const LEADERBOARD = `query Leaderboard($metric: String!, $scope: LeaderboardScope!, $teamId: ID, $suiteVersion: Int!, $filter: LeaderboardFilter, $first: Int) {
  leaderboard(metric: $metric, scope: $scope, teamId: $teamId, suiteVersion: $suiteVersion, filter: $filter, first: $first) {
    suite suiteVersion scope
    metric { name label unit lowerIsBetter }
    entries { rank runId value teamId teamName projectName techniques sizeBytes decodeMsP50 run { id } }
  }
}`;

export const RANKABLE_METRICS = `query RankableMetrics { metricCatalogue { name label unit lowerIsBetter scope } }`;

export type LeaderboardScope = 'TEAM' | 'PUBLIC';

export interface LeaderboardEntry {
  rank: number;
  runId: string;
  value: number;
  teamId: string;
  teamName: string;
  projectName: string;
  techniques: string[];
  sizeBytes: number | null;
  decodeMsP50: number | null;
  run: { id: string } | null;
}

export interface LeaderboardAnswer {
  leaderboard: {
    suite: string;
    suiteVersion: number;
    scope: LeaderboardScope;
    metric: { name: string; label: string; unit: string; lowerIsBetter: boolean | null };
    entries: LeaderboardEntry[];
  };
}

export interface MetricChoice {
  name: string;
  label: string;
  unit: string;
  lowerIsBetter: boolean | null;
  scope: string;
}

/** Output-model figures with a better direction: the only ones a board can rank by. */
export function rankableMetrics(catalogue: MetricChoice[]): MetricChoice[] {
  return catalogue.filter((m) => m.scope === 'model' && m.lowerIsBetter !== null);
}

/**
 * A budget typed in the form: empty means no budget; anything else must be a
 * non-negative number, scaled from the unit shown (MB, ms) to the API's (bytes, ms).
 */
export function parseBudget(text: string, scale: number, what: string): number | null {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  const value = Number(trimmed);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${what} must be a non-negative number, got "${trimmed}"`);
  return value * scale;
}
