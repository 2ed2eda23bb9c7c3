import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  emitRunEvent,
  pruneRunEvents,
  RUN_EVENT_HUB_APPLICATION,
  startRunEventHub,
  type LoggedRunEvent,
  type RunEventHub,
  type TestDatabase,
} from '../src/index.ts';

let db: TestDatabase;
let hub: RunEventHub;
const reconnects: number[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  hub = startRunEventHub(db.url, { retryMs: 20, onReconnect: () => reconnects.push(Date.now()) });
  await hub.ready;
});
afterAll(async () => {
  await hub?.close();
  await db?.drop();
});

const progress = (runId: string, value: number) =>
  emitRunEvent(db.prisma, { kind: 'progress', runId, projectId: 'p', progress: value, message: null });

const progressOf = (e: LoggedRunEvent) => (e.kind === 'progress' ? e.progress : -1);

async function take(stream: AsyncGenerator<LoggedRunEvent>, n: number): Promise<LoggedRunEvent[]> {
  const out: LoggedRunEvent[] = [];
  for await (const e of stream) {
    out.push(e);
    if (out.length === n) break;
  }
  return out;
}

/** Ends the hub's connection from the server side, as a failover or an admin would. */
async function killHubConnection(): Promise<number> {
  const killed = await db.prisma.$queryRaw<{ n: bigint }[]>`
    SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
    WHERE datname = current_database() AND application_name = ${RUN_EVENT_HUB_APPLICATION}`;
  return Number(killed[0]!.n);
}

describe('run event hub', () => {
  it('fans one LISTEN connection out to filtered listeners, and each stops when its loop ends', async () => {
    const a = take(hub.events((e) => e.runId === 'a'), 2);
    const both = take(hub.events(() => true), 3);
    await new Promise((r) => setTimeout(r, 50));
    await progress('a', 0.1);
    await progress('b', 0.2);
    await progress('a', 0.3);
    expect((await a).map(progressOf)).toEqual([0.1, 0.3]);
    expect((await both).map((e) => e.runId)).toEqual(['a', 'b', 'a']);
  });

  it('delivers every event exactly once and in commit order while its connection is killed again and again', async () => {
    const writers = 4;
    const perWriter = 150;
    const total = writers * perWriter;
    const seen = take(hub.events((e) => e.runId.startsWith('w')), total);
    const reconnectsBefore = reconnects.length;
    let writing = true;
    // Concurrent writers, each event in a transaction of its own (some in pairs), as workers and API processes do.
    const written = Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < perWriter; i += 2) {
          await db.prisma.$transaction(async (tx) => {
            await emitRunEvent(tx, { kind: 'progress', runId: `w${w}`, projectId: 'p', progress: i, message: null });
            await emitRunEvent(tx, { kind: 'progress', runId: `w${w}`, projectId: 'p', progress: i + 1, message: null });
          });
        }
      }),
    ).finally(() => {
      writing = false;
    });
    let kills = 0;
    while (writing) {
      kills += await killHubConnection();
      await new Promise((r) => setTimeout(r, 40));
    }
    await written;
    const events = await seen;
    expect(kills).toBeGreaterThan(1);
    expect(reconnects.length).toBeGreaterThan(reconnectsBefore);
    // Exactly once: every (writer, value) pair, no repeats, and seqs strictly increasing.
    expect(events).toHaveLength(total);
    for (let k = 1; k < events.length; k++) expect(events[k]!.seq).toBeGreaterThan(events[k - 1]!.seq);
    for (let w = 0; w < writers; w++) {
      expect(events.filter((e) => e.runId === `w${w}`).map(progressOf)).toEqual(Array.from({ length: perWriter }, (_, i) => i));
    }
    // Nothing more arrives for these runs later (no late duplicates from a replay).
    const after = take(hub.events(() => true), 1);
    await progress('marker', 1);
    expect((await after)[0]).toMatchObject({ runId: 'marker' });
  });

  it('skips over a rolled-back event without waiting for it', async () => {
    const next = take(hub.events((e) => e.runId === 'rb'), 2);
    await progress('rb', 1);
    await expect(
      db.prisma.$transaction(async (tx) => {
        await emitRunEvent(tx, { kind: 'progress', runId: 'rb', projectId: 'p', progress: 2, message: null });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await progress('rb', 3);
    expect((await next).map(progressOf)).toEqual([1, 3]);
  });

  it('prunes logged events past their retention, and keeps newer ones', async () => {
    await db.prisma.$executeRaw`UPDATE "RunEventLog" SET "createdAt" = now() - interval '1 hour' WHERE payload LIKE '%"runId":"a"%'`;
    const before = await db.prisma.runEventLog.count();
    const pruned = await pruneRunEvents(db.prisma, 30 * 60_000);
    expect(pruned).toBe(2);
    expect(await db.prisma.runEventLog.count()).toBe(before - 2);
  });

  it('refuses to start when it cannot listen at all', async () => {
    const broken = startRunEventHub('postgres://postgres@127.0.0.1:1/none');
    await expect(broken.ready).rejects.toThrow(/could not LISTEN run_events/);
    await broken.close();
  });
});
