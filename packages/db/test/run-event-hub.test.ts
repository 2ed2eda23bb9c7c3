import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, emitRunEvent, startRunEventHub, type RunEvent, type RunEventHub, type TestDatabase } from '../src/index.ts';

let db: TestDatabase;
let hub: RunEventHub;
const reconnects: number[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  hub = startRunEventHub(db.url, { retryMs: 50, onReconnect: () => reconnects.push(Date.now()) });
  await hub.ready;
});
afterAll(async () => {
  await hub?.close();
  await db?.drop();
});

const progress = (runId: string, value: number) =>
  emitRunEvent(db.prisma, { kind: 'progress', runId, projectId: 'p', progress: value, message: null });

async function take(stream: AsyncGenerator<RunEvent>, n: number): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  for await (const e of stream) {
    out.push(e);
    if (out.length === n) break;
  }
  return out;
}

describe('run event hub', () => {
  it('fans one LISTEN connection out to filtered listeners, and each stops when its loop ends', async () => {
    const a = take(hub.events((e) => e.runId === 'a'), 2);
    const both = take(hub.events(() => true), 3);
    await new Promise((r) => setTimeout(r, 50));
    await progress('a', 0.1);
    await progress('b', 0.2);
    await progress('a', 0.3);
    expect((await a).map((e) => (e.kind === 'progress' ? e.progress : -1))).toEqual([0.1, 0.3]);
    expect((await both).map((e) => e.runId)).toEqual(['a', 'b', 'a']);
  });

  it('listens again after its connection is killed', async () => {
    const killed = await db.prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'`;
    expect(Number(killed[0]!.n)).toBe(1);
    while (reconnects.length === 0) await new Promise((r) => setTimeout(r, 20));
    const next = take(hub.events((e) => e.runId === 'after'), 1);
    await new Promise((r) => setTimeout(r, 50));
    await progress('after', 1);
    expect((await next)[0]).toMatchObject({ runId: 'after', kind: 'progress' });
  });

  it('refuses to start when it cannot listen at all', async () => {
    const broken = startRunEventHub('postgres://postgres@127.0.0.1:1/none');
    await expect(broken.ready).rejects.toThrow(/could not LISTEN run_events/);
    await broken.close();
  });
});
