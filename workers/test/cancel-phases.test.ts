/**
 * Cancellation reaches every long phase of a step, in a real Piscina thread running ORT:
 * data preparation (tokenizing the train split), building the student, training, the
 * held-out evaluation inside training, and the run's evaluation. Each test sets the
 * shared flag when the phase reports itself and asserts the task came back canceled
 * without reaching the phases after it (order and steps completed, not wall-clock).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitBundledCorpora } from '@distillery/data';
import { defaultSuiteSettings } from '@distillery/eval';
import { buildDecoder, decoderPreset, initDecoderWeights, toTokenizerJson, trainBpe } from '@distillery/nn';
import { serializeModel } from '@distillery/onnx';
import { CancelFlag } from '../src/cancel-flag';
import { createThreadPool, type ThreadPool } from '../src/thread-pool';
import type { ProgressMessage } from '../src/thread-messages';

let pool: ThreadPool;
const text = splitBundledCorpora().train[0]!.text.slice(0, 20_000);

/** A fresh tokenizer (so no thread has its tokens cached yet) and a tiny teacher over its vocabulary. */
function setup(vocabSize: number): { model: ArrayBuffer; tokenizerJson: string } {
  const tokenizer = trainBpe([text], { vocabSize });
  const c = decoderPreset('tiny', { vocabSize: tokenizer.vocabSize });
  const bytes = serializeModel(buildDecoder(c, initDecoderWeights(c, 2, 0.2))).model;
  const model = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(model).set(bytes);
  return { model, tokenizerJson: JSON.stringify(toTokenizerJson(tokenizer)) };
}

/** Runs distill.kd, canceling when a progress message matches `when`; returns the outcome and every message. */
async function kdCanceledAt(vocabSize: number, when: RegExp, params: Record<string, unknown> = {}) {
  const cancel = new CancelFlag();
  const seen: string[] = [];
  const { model, tokenizerJson } = setup(vocabSize);
  const out = await pool.runTechnique(
    { model, techniqueId: 'distill.kd', params: { student: { layers: 1 }, steps: 5000, batchSize: 2, seqLen: 32, ...params }, tokenizerJson },
    {
      cancel,
      onProgress: (p: ProgressMessage) => {
        seen.push(p.message ?? '');
        if (when.test(p.message ?? '')) cancel.request('canceled');
      },
    },
  );
  return { out, seen };
}

const lastTrainingStep = (seen: string[]) => Math.max(0, ...seen.map((m) => Number(/^step (\d+)\//.exec(m)?.[1] ?? 0)));

beforeAll(() => {
  pool = createThreadPool({ threads: 1 });
});
afterAll(async () => pool?.close());

describe('cancellation in every phase', () => {
  it('stops while preparing data, before the student is built', async () => {
    const { out, seen } = await kdCanceledAt(300, /^preparing data: tokenizing the train split \(0\//);
    expect(out).toEqual({ ok: false, reason: 'canceled', message: expect.any(String) });
    expect(seen.some((m) => m.startsWith('preparing data'))).toBe(true);
    // The train split has hundreds of documents; it stopped within the first few reports.
    const reports = seen.filter((m) => m.startsWith('preparing data: tokenizing the train split'));
    expect(reports.length).toBeLessThan(5);
    expect(seen.some((m) => m.startsWith('step '))).toBe(false);
  });

  it('stops while building the student, before training', async () => {
    const { out, seen } = await kdCanceledAt(310, /^building the student/);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.reason).toBe('canceled');
    expect(seen).toContain('building the student');
    expect(seen.some((m) => m.startsWith('step '))).toBe(false);
  });

  it('stops during training long before its steps are done', async () => {
    const { out, seen } = await kdCanceledAt(320, /^step 3\//);
    expect(out.ok).toBe(false);
    if (!out.ok) {
      expect(out.reason).toBe('canceled');
      expect(out.message).toMatch(/training canceled after step \d+ of 5000/);
    }
    const last = lastTrainingStep(seen);
    expect(last).toBeGreaterThanOrEqual(3);
    expect(last).toBeLessThan(50);
  });

  it('stops in the held-out evaluation inside training', async () => {
    // Held-out points every 2 steps; the flag is set as soon as step 2 is reported, so the
    // evaluation that follows it (or the next step) sees it.
    const { out, seen } = await kdCanceledAt(330, /^step 2\//, { steps: 4 });
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.reason).toBe('canceled');
    expect(lastTrainingStep(seen)).toBeLessThan(4);
  });

  it("stops the run's evaluation between windows and while tokenizing the test split", async () => {
    for (const when of [/^preparing data: tokenizing the test split/, /window 2\//]) {
      const { model, tokenizerJson } = setup(340);
      const cancel = new CancelFlag();
      const seen: string[] = [];
      const out = await pool.evaluate(
        {
          model,
          tokenizerJson,
          role: 'base',
          settings: { ...defaultSuiteSettings(1), maxTokens: 4000, window: 32, stride: 1, batch: 1 },
          tasks: [],
          baseCache: null,
          baseModel: null,
        },
        {
          cancel,
          onProgress: (p) => {
            seen.push(p.message ?? '');
            if (when.test(p.message ?? '')) cancel.request('canceled');
          },
        },
      );
      expect(out).toEqual({ ok: false, reason: 'canceled', message: expect.any(String) });
      // ~4,000 windows were due; progress reaches this process asynchronously, so the flag
      // lands some windows after "window 2/", but far before the end.
      expect(seen.filter((m) => /window \d+\//.test(m)).length).toBeLessThan(2000);
    }
  });
});
