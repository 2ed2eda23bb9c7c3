/**
 * Events of the run lifecycle, written to the run event log ("RunEventLog") in the
 * transaction of the change, so an event never announces a change that did not happen.
 * At commit a trigger numbers each one (seq, in commit order) and sends it with Postgres
 * NOTIFY on one channel as "<seq>|<json>", so every API process sees what any worker or
 * API process did, and a listener that lost its connection replays the log from the last
 * seq it saw (run-event-hub.ts). Payloads stay small (Postgres caps NOTIFY at 8000 bytes):
 * ids and figures; anything bigger is fetched by id.
 */
import { z } from 'zod';
import type { Prisma, PrismaClient } from '../generated/client.ts';

export const RUN_EVENTS_CHANNEL = 'run_events';

/** Below Postgres's 8000-byte NOTIFY limit, with room for the envelope. */
const MAX_PAYLOAD_BYTES = 7000;
const MAX_MESSAGE_CHARS = 500;

const Status = z.enum(['queued', 'running', 'succeeded', 'failed', 'canceled']);

export const MetricPointSchema = z.object({
  name: z.string(),
  value: z.number(),
  step: z.number().int().nullable(),
  runStepId: z.string().nullable(),
});
export type MetricPoint = z.infer<typeof MetricPointSchema>;

const Envelope = { runId: z.string(), projectId: z.string(), at: z.string() };

export const RunEventSchema = z.discriminatedUnion('kind', [
  z.object({ ...Envelope, kind: z.literal('status'), from: Status.nullable(), to: Status, message: z.string().nullable() }),
  z.object({ ...Envelope, kind: z.literal('step'), stepId: z.string(), index: z.number().int(), status: Status }),
  z.object({ ...Envelope, kind: z.literal('progress'), progress: z.number(), message: z.string().nullable() }),
  z.object({ ...Envelope, kind: z.literal('metrics'), points: z.array(MetricPointSchema) }),
  z.object({ ...Envelope, kind: z.literal('model'), modelId: z.string(), stepIndex: z.number().int() }),
  z.object({ ...Envelope, kind: z.literal('cancel-requested') }),
]);
export type RunEvent = z.infer<typeof RunEventSchema>;
/** An event as read from the log or a notification: its place in commit order beside it. */
export type LoggedRunEvent = RunEvent & { seq: bigint };
export type RunEventKind = RunEvent['kind'];

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An event as its emitter states it; the time is stamped when it is sent. */
export type RunEventInput = DistributiveOmit<RunEvent, 'at'>;

type Db = PrismaClient | Prisma.TransactionClient;

export function clipMessage(message: string | null | undefined): string | null {
  if (message === null || message === undefined) return null;
  return message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS - 1)}…` : message;
}

/**
 * The payloads of one event; a metrics event too big for one NOTIFY is split into several,
 * each point in exactly one, in order. Each point is serialized once and the payloads are
 * joined from those pieces (an ingested batch holds thousands of points).
 */
export function eventPayloads(event: RunEventInput, at: Date = new Date()): string[] {
  const stamped = { ...event, at: at.toISOString() };
  if (stamped.kind !== 'metrics') {
    const whole = JSON.stringify(stamped);
    if (Buffer.byteLength(whole) > MAX_PAYLOAD_BYTES) throw new Error(`a ${stamped.kind} event of ${Buffer.byteLength(whole)} bytes exceeds the NOTIFY payload limit`);
    return [whole];
  }
  const { points, ...envelope } = stamped;
  // `{...envelope,"points":[` + points joined by commas + `]}`
  const head = `${JSON.stringify(envelope).slice(0, -1)},"points":[`;
  const budget = MAX_PAYLOAD_BYTES - Buffer.byteLength(head) - 2;
  const out: string[] = [];
  let chunk: string[] = [];
  let size = 0;
  for (const point of points) {
    const json = JSON.stringify(point);
    const bytes = Buffer.byteLength(json);
    if (chunk.length > 0 && size + 1 + bytes > budget) {
      out.push(`${head}${chunk.join(',')}]}`);
      chunk = [];
      size = 0;
    }
    size += (chunk.length > 0 ? 1 : 0) + bytes;
    chunk.push(json);
  }
  if (chunk.length > 0 || out.length === 0) out.push(`${head}${chunk.join(',')}]}`);
  return out;
}

/** Writes the event to the log; its NOTIFY goes out at commit (of the caller's transaction, if any). */
export async function emitRunEvent(db: Db, event: RunEventInput): Promise<void> {
  const payloads = eventPayloads(event);
  if (payloads.length === 1) {
    await db.$executeRaw`INSERT INTO "RunEventLog" (payload) VALUES (${payloads[0]})`;
    return;
  }
  // A big metrics event is logged in one round trip, its chunks in order. One JSON array
  // parameter: a text[] would cost the driver an escaping pass over every payload byte.
  await db.$executeRaw`INSERT INTO "RunEventLog" (payload)
    SELECT p.payload FROM json_array_elements_text(${JSON.stringify(payloads)}::json) WITH ORDINALITY AS p(payload, n) ORDER BY p.n`;
}

/** An event's JSON, or null when it is not one. */
export function parseRunEvent(payload: string): RunEvent | null {
  try {
    const parsed = RunEventSchema.safeParse(JSON.parse(payload));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** A received NOTIFY payload ("<seq>|<json>") as an event, or null when it is not one (another sender on the channel). */
export function parseRunEventNotification(payload: string): LoggedRunEvent | null {
  const bar = payload.indexOf('|');
  if (bar < 1 || !/^\d+$/.test(payload.slice(0, bar))) return null;
  const event = parseRunEvent(payload.slice(bar + 1));
  return event ? { ...event, seq: BigInt(payload.slice(0, bar)) } : null;
}

/** Default time a logged event stays replayable; longer than any reconnect of a listener. */
export const RUN_EVENT_RETENTION_MS = 15 * 60_000;

/** Deletes logged events older than `retentionMs`; returns how many. */
export async function pruneRunEvents(db: Db, retentionMs: number = RUN_EVENT_RETENTION_MS): Promise<number> {
  return db.$executeRaw`DELETE FROM "RunEventLog" WHERE "createdAt" < now() - ${retentionMs}::int * interval '1 millisecond' AND seq IS NOT NULL`;
}
