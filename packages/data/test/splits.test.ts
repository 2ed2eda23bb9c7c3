import { describe, expect, it } from 'vitest';
import { splitBundledCorpora } from '../src/bundled-split';
import { bundledDocuments } from '../src/corpora';
import { contentHash, splitDocuments, type SplittableDocument } from '../src/splits';

const documents = bundledDocuments();
const ids = (list: readonly SplittableDocument[]) => list.map((d) => d.id);

describe('splitDocuments', () => {
  it('is deterministic for a seed and changes with the seed', () => {
    const a = splitDocuments(documents, { name: 'x', seed: 1 });
    const b = splitDocuments(documents, { name: 'x', seed: 1 });
    const c = splitDocuments(documents, { name: 'x', seed: 2 });
    expect(ids(a.test)).toEqual(ids(b.test));
    expect(a.descriptor).toEqual(b.descriptor);
    expect(ids(c.test)).not.toEqual(ids(a.test));
    expect(c.descriptor.hashes.test).not.toBe(a.descriptor.hashes.test);
  });

  it('does not depend on the input order for membership', () => {
    const forward = splitDocuments(documents, { name: 'x', seed: 3 });
    const backward = splitDocuments([...documents].reverse(), { name: 'x', seed: 3 });
    expect(new Set(ids(backward.test))).toEqual(new Set(ids(forward.test)));
  });

  it('partitions the documents: disjoint, complete, in input order, near the fractions', () => {
    const split = splitBundledCorpora();
    const all = [...ids(split.train), ...ids(split.validation), ...ids(split.test)];
    expect(all).toHaveLength(documents.length);
    expect(new Set(all)).toEqual(new Set(ids(documents)));
    const position = new Map(documents.map((d, i) => [d.id, i]));
    for (const part of [split.train, split.validation, split.test]) {
      const order = part.map((d) => position.get(d.id) as number);
      expect(order).toEqual([...order].sort((x, y) => x - y));
    }
    expect(split.test.length).toBeGreaterThanOrEqual(17);
    expect(split.test.length).toBeLessThanOrEqual(20);
    expect(split.descriptor.documents).toEqual({ train: split.train.length, validation: split.validation.length, test: split.test.length });
  });

  it('puts both corpora in the test and validation splits for many seeds', () => {
    for (let seed = 0; seed < 20; seed++) {
      const split = splitDocuments(documents, { name: 'x', seed });
      for (const part of [split.test, split.validation]) {
        expect(new Set(part.map((d) => d.corpus))).toEqual(new Set(['moby-dick', 'sotu']));
      }
    }
  });

  it('covers a positive-fraction split even for a tiny corpus', () => {
    const tiny = [0, 1, 2].map((i) => ({ id: `t/${i}`, corpus: 't', text: `doc ${i}` }));
    const split = splitDocuments(tiny, { name: 'tiny', seed: 0 });
    expect([split.train.length, split.validation.length, split.test.length]).toEqual([1, 1, 1]);
    const single = splitDocuments(tiny.slice(0, 1), { name: 'one', seed: 0 });
    expect(single.train).toHaveLength(1);
  });

  it('cites a descriptor whose hashes follow the content', () => {
    const split = splitDocuments(documents, { name: 'x', seed: 5 });
    expect(split.descriptor).toMatchObject({ name: 'x', seed: 5, fractions: { train: 0.9, validation: 0.05, test: 0.05 } });
    expect(split.descriptor.hashes.test).toBe(contentHash(split.test));
    expect(split.descriptor.hashes.test).toMatch(/^[0-9a-f]{64}$/);
    const victim = split.test[0].id;
    const edited = documents.map((d) => (d.id === victim ? { ...d, text: `${d.text}!` } : d));
    const after = splitDocuments(edited, { name: 'x', seed: 5 });
    expect(ids(after.test)).toEqual(ids(split.test));
    expect(after.descriptor.hashes.test).not.toBe(split.descriptor.hashes.test);
    expect(after.descriptor.hashes.train).toBe(split.descriptor.hashes.train);
  });

  it('frames id and text so that moving characters between them changes the hash', () => {
    expect(contentHash([{ id: 'a', corpus: 'c', text: 'bc' }])).not.toBe(contentHash([{ id: 'ab', corpus: 'c', text: 'c' }]));
    expect(contentHash([])).toMatch(/^e3b0c442/); // sha256 of nothing
  });

  it('rejects bad fractions and duplicate ids', () => {
    expect(() => splitDocuments(documents, { name: 'x', seed: 0, fractions: { train: 0.5, validation: 0.1, test: 0.1 } })).toThrow(/sum to 1/);
    const twice = [documents[0], documents[0]];
    expect(() => splitDocuments(twice, { name: 'x', seed: 0 })).toThrow(/moby-dick\/contents.*more than once/);
  });
});
