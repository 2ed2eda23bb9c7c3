/**
 * Splitting a metrics event over NOTIFY payloads, against the obvious reference: every
 * payload within the limit and a valid event, the points in order and each once, and no
 * payload that could have taken the next point.
 */
import { describe, expect, it } from 'vitest';
import { eventPayloads, parseRunEvent, type MetricPoint } from '../src/run-lifecycle/run-events.ts';

const LIMIT = 7000;
const at = new Date('2026-11-30T12:00:00.000Z');
const envelope = { kind: 'metrics' as const, runId: '6a1f2f9e-5d3c-4a44-9d6b-0d6f1c2a3b4c', projectId: '0b9e8d7c-6f5a-4e3d-8c2b-1a0f9e8d7c6b' };

function pointsOf(n: number): MetricPoint[] {
  // Names of varying length, some multi-byte, so byte and character counts differ.
  return Array.from({ length: n }, (_, i) => ({ name: `${'é'.repeat(i % 7)}train/loss${'x'.repeat((i * 37) % 150)}`, value: 1 / (1 + i), step: i % 5 === 0 ? null : i, runStepId: null }));
}

describe('eventPayloads', () => {
  it('splits thousands of points into payloads within the limit, every point once and in order', () => {
    const points = pointsOf(5000);
    const payloads = eventPayloads({ ...envelope, points }, at);
    expect(payloads.length).toBeGreaterThan(50);
    const received: MetricPoint[] = [];
    for (const [i, p] of payloads.entries()) {
      expect(Buffer.byteLength(p)).toBeLessThanOrEqual(LIMIT);
      const event = parseRunEvent(p);
      expect(event).toMatchObject({ ...envelope, at: at.toISOString() });
      if (event?.kind !== 'metrics') throw new Error('not a metrics event');
      // Greedy: the next point would not have fitted (reference: serialize the grown event whole).
      const next = points[received.length + event.points.length];
      if (i < payloads.length - 1 && next) {
        expect(Buffer.byteLength(JSON.stringify({ ...envelope, at: at.toISOString(), points: [...event.points, next] }))).toBeGreaterThan(LIMIT);
      }
      received.push(...event.points);
    }
    expect(received).toEqual(points);
  });

  it('keeps a small event whole, an empty batch included', () => {
    expect(eventPayloads({ ...envelope, points: pointsOf(3) }, at).map((p) => parseRunEvent(p))).toEqual([{ ...envelope, at: at.toISOString(), points: pointsOf(3) }]);
    expect(eventPayloads({ ...envelope, points: [] }, at).map((p) => parseRunEvent(p))).toEqual([{ ...envelope, at: at.toISOString(), points: [] }]);
  });

  it('refuses a non-metrics event over the limit', () => {
    expect(() => eventPayloads({ kind: 'status', runId: envelope.runId, projectId: envelope.projectId, from: null, to: 'failed', message: 'x'.repeat(LIMIT) }, at)).toThrow(/exceeds the NOTIFY payload limit/);
  });
});
