/**
 * Records a running step's live series points (live-series.ts) as the run's metric
 * points, named as the run's record names them (`steps.<i>.<series>`), one write at a
 * time and in order. Only the owning attempt writes (recordLivePoints); a failed write is
 * reported and skipped, since the run's record rewrites the series at its end.
 */
import { recordLivePoints, type PrismaClient } from '@distillery/db';
import type { SeriesPoint } from './thread-messages';

export interface LiveMetricWriter {
  write(points: SeriesPoint[]): void;
  /** Waits for the writes already started. */
  settled(): Promise<void>;
}

export function liveMetricWriter(
  prisma: PrismaClient,
  runId: string,
  workerId: string,
  runStepId: string,
  prefix: string,
  onError: (error: unknown) => void,
): LiveMetricWriter {
  let chain: Promise<unknown> = Promise.resolve();
  return {
    write(points) {
      const rows = points.map((p) => ({ name: `${prefix}${p.name}`, value: p.value, step: p.step, runStepId }));
      chain = chain.then(() => recordLivePoints(prisma, runId, workerId, rows)).catch(onError);
    },
    async settled() {
      await chain;
    },
  };
}
