/**
 * `distillery leaderboard --metric M [--suite S] [--suite-version N] [--team T | --public]
 * [--first N] [--json]`: succeeded runs ranked by one metric.
 */
import { parseArgs } from 'node:util';
import { EVAL_SUITE_ID, EVAL_SUITE_VERSION } from '@distillery/eval/eval-suite';
import { apiCall } from './api-call';
import { connection } from './credentials';
import { resolveTeam } from './resolve-names';
import { figure, textTable } from './text-table';
import { positiveInt, UsageError } from './usage-error';

interface Board {
  suite: string;
  suiteVersion: number;
  scope: string;
  metric: { name: string; unit: string | null; lowerIsBetter: boolean };
  entries: { rank: number; runId: string; value: number; teamName: string; projectName: string; techniques: string[]; sizeBytes: number | null; decodeMsP50: number | null }[];
}

const QUERY = `query($m: String!, $scope: LeaderboardScope!, $t: ID, $s: String, $v: Int!, $n: Int) {
  leaderboard(metric: $m, scope: $scope, teamId: $t, suite: $s, suiteVersion: $v, first: $n) {
    suite suiteVersion scope metric { name unit lowerIsBetter }
    entries { rank runId value teamName projectName techniques sizeBytes decodeMsP50 } } }`;

export async function leaderboardCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { metric: { type: 'string' }, suite: { type: 'string' }, 'suite-version': { type: 'string' }, team: { type: 'string' }, public: { type: 'boolean' }, first: { type: 'string' }, json: { type: 'boolean' } },
  });
  if (positionals.length) throw new UsageError(`leaderboard takes no positional arguments, got ${positionals.join(' ')}`);
  if (!values.metric) throw new UsageError('leaderboard needs --metric <name> (e.g. model.perplexity, ratio.size)');
  if (values.public && values.team) throw new UsageError('--public and --team exclude each other');
  const suiteVersion = positiveInt(values['suite-version'], '--suite-version') ?? EVAL_SUITE_VERSION;
  const first = positiveInt(values.first, '--first') ?? 20;
  const call = apiCall(await connection());
  const teamId = values.public ? null : (await resolveTeam(call, values.team)).id;
  const { leaderboard } = await call<{ leaderboard: Board }>(QUERY, {
    m: values.metric,
    scope: values.public ? 'PUBLIC' : 'TEAM',
    t: teamId,
    s: values.suite ?? EVAL_SUITE_ID,
    v: suiteVersion,
    n: first,
  });
  if (values.json) {
    print(JSON.stringify(leaderboard));
    return;
  }
  const m = leaderboard.metric;
  print(`${leaderboard.suite} v${leaderboard.suiteVersion}, ${leaderboard.scope.toLowerCase()}: ${m.name}${m.unit ? ` (${m.unit})` : ''}, ${m.lowerIsBetter ? 'lower' : 'higher'} is better`);
  if (leaderboard.entries.length === 0) {
    print('no succeeded runs carry this metric');
    return;
  }
  print(
    textTable(
      ['rank', m.name, 'run', 'team', 'project', 'techniques', 'size bytes', 'decode ms p50'],
      leaderboard.entries.map((e) => [String(e.rank), figure(e.value), e.runId, e.teamName, e.projectName, e.techniques.join(' + '), figure(e.sizeBytes), figure(e.decodeMsP50)]),
    ),
  );
}
