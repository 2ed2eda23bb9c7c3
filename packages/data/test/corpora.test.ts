import { describe, expect, it } from 'vitest';
import { bundledDocuments, mobyDickDocuments, sotuDocuments } from '../src/corpora';

describe('bundled corpora', () => {
  const documents = bundledDocuments();

  it('has every Moby-Dick section and every State of the Union address', () => {
    expect(mobyDickDocuments()).toHaveLength(139);
    expect(sotuDocuments()).toHaveLength(233);
    expect(documents).toHaveLength(372);
  });

  it('gives unique, stable, readable ids and non-empty texts', () => {
    expect(new Set(documents.map((d) => d.id)).size).toBe(documents.length);
    const ids = documents.map((d) => d.id);
    expect(ids).toContain('moby-dick/chapter-12');
    expect(ids).toContain('moby-dick/epilogue');
    expect(ids).toContain('sotu/1790-george-washington');
    for (const document of documents) {
      expect(document.id).toMatch(/^(moby-dick|sotu)\/[a-z0-9-]+$/);
      expect(document.id.startsWith(`${document.corpus}/`)).toBe(true);
      expect(document.text.length).toBeGreaterThan(0);
    }
    expect(documents.find((d) => d.id === 'moby-dick/chapter-1')?.text).toMatch(/^Call me Ishmael\./);
  });
});
