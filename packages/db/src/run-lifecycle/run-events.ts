/**
 * Events of the run lifecycle, sent with Postgres NOTIFY on one channel so every API
 * process sees what any worker or API process did. NOTIFY inside a transaction is
 * delivered at commit and dropped on rollback, so an event never announces a change that
 * did not happen. Payloads stay small (Postgres caps them at 8000 bytes): ids and
 * figures; anything bigger is fetched by id.
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

/** Sends the event on RUN_EVENTS_CHANNEL; inside a transaction, it goes out at commit. */
export async function emitRunEvent(db: Db, event: RunEventInput): Promise<void> {
  const payloads = eventPayloads(event);
  if (payloads.length === 1) {
    await db.$executeRaw`SELECT pg_notify(${RUN_EVENTS_CHANNEL}, ${payloads[0]})`;
    return;
  }
  // A big metrics event goes out in one round trip, its chunks in order. One JSON array
  // parameter: a text[] would cost the driver an escaping pass over every payload byte.
  await db.$executeRaw`SELECT pg_notify(${RUN_EVENTS_CHANNEL}, p.payload)
    FROM json_array_elements_text(${JSON.stringify(payloads)}::json) WITH ORDINALITY AS p(payload, n) ORDER BY p.n`;
}

/** A received payload as an event, or null when it is not one (another sender on the channel). */
export function parseRunEvent(payload: string): RunEvent | null {
  try {
    const parsed = RunEventSchema.safeParse(JSON.parse(payload));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
