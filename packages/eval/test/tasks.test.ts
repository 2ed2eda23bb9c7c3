import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitBundledCorpora } from '@distillery/data';
import { createDecoderSession, runDecoder } from '@distillery/nn';
import {
  BUNDLED_TASKS,
  bundledTask,
  clozeAccuracy,
  clozePassages,
  createSession,
  generateSamples,
  openScorer,
  parseChoiceTask,
  scoreChoiceItems,
  TaskFileError,
  tokenizeChoiceItems,
  tokenizeCloze,
  causalLm,
  type WindowScorer,
} from '../src';
import { tinyDecoder } from './tiny-decoder';

const tiny = tinyDecoder(4);
const V = tiny.config.vocabSize;

/** Rows of float64 log-softmax for one sequence, from an independent plain ORT run. */
async function logSoftmaxRows(seq: number[]): Promise<number[][]> {
  const s = await createDecoderSession(tiny.model);
  try {
    const out = await runDecoder(s, tiny.config, { inputIds: [seq] });
    return Array.from({ length: seq.length }, (_, i) => {
      const row = Array.from(out.logits.subarray(i * V, (i + 1) * V));
      const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
      return row.map((v) => v - lse);
    });
  } finally {
    await s.release();
  }
}

let scorer: WindowScorer;
beforeAll(async () => {
  scorer = await openScorer(tiny.model);
});
afterAll(async () => {
  await scorer.release();
});

describe('multiple-choice scoring', () => {
  it('matches log-likelihoods computed by hand from the logits, and picks by sum and by sum per byte', async () => {
    const items = [
      { context: [5, 17, 42], choices: [[7], [8, 9, 10], [60, 61]], gold: 1, choiceBytes: [1, 9, 2] },
      { context: [3], choices: [[11, 12], [13]], gold: 0, choiceBytes: [4, 4] },
    ];
    const res = await scoreChoiceItems(scorer, items, { batch: 2 });
    for (const [i, item] of items.entries()) {
      const expected: number[] = [];
      for (const c of item.choices) {
        const seq = [...item.context, ...c];
        const rows = await logSoftmaxRows(seq);
        let ll = 0;
        for (let j = 0; j < c.length; j++) ll += rows[item.context.length - 1 + j]![c[j]!]!;
        expected.push(ll);
      }
      res.scores[i]!.logLikelihoods.forEach((ll, j) => expect(ll).toBeCloseTo(expected[j]!, 5));
      const best = expected.indexOf(Math.max(...expected));
      const perByte = expected.map((ll, j) => ll / item.choiceBytes[j]!);
      expect(res.scores[i]!.predicted).toBe(best);
      expect(res.scores[i]!.predictedNorm).toBe(perByte.indexOf(Math.max(...perByte)));
    }
    const right = res.scores.filter((s, i) => s.predicted === items[i]!.gold).length;
    expect(res.accuracy).toBe(right / 2);
    expect(res.items).toBe(2);
  });

  it('parses JSONL tasks and rejects malformed ones naming the line and the field', () => {
    const good = '{"context": "The sea", "choices": [" is wet", " is dry"], "gold": 0}\n\n{"context": "A", "choices": [" b", " c", " d"], "gold": 2}\n';
    expect(parseChoiceTask(good, 't')).toHaveLength(2);
    const bad: [string, RegExp][] = [
      ['{"context": "x", "choices": [" a", " b"], "gold": 0}\n{"context": "x", "choices": [" a"], "gold": 0}', /task "t", line 2, field "choices": needs at least 2 choices/],
      ['{"context": "x", "choices": [" a", " b"], "gold": 2}', /line 1, field "gold": is 2 but there are only 2 choices/],
      ['{"context": "x", "choices": [" a", 3], "gold": 0}', /line 1, field "choices\[1\]": must be a string, got 3/],
      ['{"choices": [" a", " b"], "gold": 0}', /line 1, field "context": is missing/],
      ['{"context": "x", "choices": [" a", " b"], "gold": 0.5}', /field "gold": must be an integer/],
      ['{"context": "x", "choices": [" a", " b"], "gold": 0, "answer": 1}', /field "answer": is not a task field/],
      ['{"context": "x", "choices": [" a", " b"], "gold": 0}\n{"context": "x", "choi', /line 2: not valid JSON/],
      ['[1, 2]', /line 1: must be a JSON object/],
      ['\n\n', /no items/],
    ];
    for (const [text, message] of bad) {
      expect(() => parseChoiceTask(text, 't')).toThrow(TaskFileError);
      expect(() => parseChoiceTask(text, 't')).toThrow(message);
    }
  });

  it('tokenizes with a left-truncated context so the longest choice fits the window', () => {
    const encode = (s: string) => Array.from(s, (ch) => ch.charCodeAt(0) % V);
    const [t] = tokenizeChoiceItems([{ context: 'abcdefghij', choices: [' x', ' yyy'], gold: 1 }], encode, 8);
    expect(t!.context).toEqual(encode('ghij'));
    expect(t!.choiceBytes).toEqual([2, 4]);
    expect(() => tokenizeChoiceItems([{ context: 'a', choices: [' x', 'y'.repeat(9)], gold: 0 }], encode, 8)).toThrow(/does not fit/);
  });

  it('bundled tasks are deterministic, well formed and take their gold from the text', () => {
    const texts = splitBundledCorpora().test.map((d) => d.text);
    for (const name of BUNDLED_TASKS) {
      const a = bundledTask(name, texts, 20);
      expect(a).toEqual(bundledTask(name, texts, 20));
      expect(a).toHaveLength(20);
      for (const item of a) {
        expect(item.choices).toHaveLength(4);
        expect(new Set(item.choices).size).toBe(4);
        // Round-trips through the task file format.
        expect(parseChoiceTask(JSON.stringify(item), name)).toEqual([item]);
      }
      // The gold position is spread, not always the same.
      expect(new Set(a.map((x) => x.gold)).size).toBeGreaterThan(1);
    }
    const ns = bundledTask('next-sentence', texts, 5);
    for (const item of ns) expect(texts.some((t) => t.replace(/\s+/g, ' ').includes(`${item.context}${item.choices[item.gold]}`))).toBe(true);
  });
});

describe('cloze', () => {
  it('builds passages ending in a word, deterministically', () => {
    const text = 'The ship sailed on. It was a long voyage across the sea and every man aboard knew the captain would never turn back until the great white whale was found.\n\nShort one.';
    const p = clozePassages([text], { count: 1, minWords: 10, maxWords: 40 });
    expect(p).toEqual([{ context: 'The ship sailed on. It was a long voyage across the sea and every man aboard knew the captain would never turn back until the great white whale was', word: 'found' }]);
    expect(() => clozePassages([text], { count: 3, minWords: 10 })).toThrow(/fewer than the 3/);
    const test = splitBundledCorpora().test.map((d) => d.text);
    expect(clozePassages(test, { count: 30 })).toEqual(clozePassages(test, { count: 30 }));
  });

  it('counts a passage right only when every token of the word is the greedy prediction', async () => {
    const context = [4, 8, 15, 16, 23];
    // The model's own greedy continuation of two tokens, computed without the scorer.
    const rows1 = await logSoftmaxRows(context);
    const first = rows1[4]!.indexOf(Math.max(...rows1[4]!));
    const rows2 = await logSoftmaxRows([...context, first]);
    const second = rows2[5]!.indexOf(Math.max(...rows2[5]!));
    const res = await clozeAccuracy(scorer, [
      { context, target: [first, second] },
      { context, target: [first, (second + 1) % V] },
      { context, target: [(first + 1) % V] },
    ]);
    expect(res.correct).toEqual([true, false, false]);
    expect(res.accuracy).toBeCloseTo(1 / 3, 12);
    const encode = (s: string) => Array.from(s, (ch) => ch.charCodeAt(0) % V);
    expect(tokenizeCloze([{ context: 'abcdef', word: 'xy' }], encode, 6)).toEqual([{ context: encode('def'), target: encode(' xy') }]);
  });
});

describe('generated samples', () => {
  it('greedy is the argmax continuation; sampling is reproducible from the seed', async () => {
    const session = await createSession(tiny.model);
    try {
      const prompts = [[1, 2, 3], [50, 51]];
      const settings = { maxNewTokens: 6, temperature: 0.9, topK: 20, seed: 7 };
      const a = await generateSamples(session, prompts, settings);
      const b = await generateSamples(session, prompts, settings);
      expect(a).toEqual(b);
      const c = await generateSamples(session, prompts, { ...settings, seed: 8 });
      expect(c.map((s) => s.sampled)).not.toEqual(a.map((s) => s.sampled));
      const lm = causalLm(session);
      for (const s of a) {
        const seq = [...s.prompt];
        for (let k = 0; k < 6; k++) {
          const { logits } = await lm.forward(seq);
          const row = Array.from(logits.subarray((seq.length - 1) * V, seq.length * V));
          seq.push(row.indexOf(Math.max(...row)));
        }
        expect(s.greedy).toEqual(seq.slice(s.prompt.length));
        expect(s.sampled).toHaveLength(6);
      }
    } finally {
      await session.release();
    }
  });
});
