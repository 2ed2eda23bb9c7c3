import { createHash } from 'node:crypto';
import { z } from 'zod';

/** What a split needs of a document: a unique id, the corpus it belongs to, and its text. */
export interface SplittableDocument {
  readonly id: string;
  readonly corpus: string;
  readonly text: string;
}

export type SplitName = 'train' | 'validation' | 'test';
const SPLIT_NAMES: readonly SplitName[] = ['train', 'validation', 'test'];

const fractionsSchema = z
  .object({ train: z.number().positive(), validation: z.number().min(0), test: z.number().min(0) })
  .refine((f) => Math.abs(f.train + f.validation + f.test - 1) < 1e-9, { message: 'fractions must sum to 1' });

export type SplitFractions = z.infer<typeof fractionsSchema>;

/** Enough for a run record to name, reproduce and verify the split it used. */
export interface SplitDescriptor {
  readonly name: string;
  readonly seed: number;
  readonly fractions: SplitFractions;
  /** sha256 (hex) of each split's ordered ids and texts; see {@link contentHash}. */
  readonly hashes: Readonly<Record<SplitName, string>>;
  readonly documents: Readonly<Record<SplitName, number>>;
}

export type DatasetSplit<D extends SplittableDocument> = Readonly<Record<SplitName, D[]>> & { readonly descriptor: SplitDescriptor };

export interface SplitOptions {
  readonly name: string;
  readonly seed: number;
  readonly fractions?: SplitFractions;
}

export const DEFAULT_FRACTIONS: SplitFractions = { train: 0.9, validation: 0.05, test: 0.05 };

/**
 * Splits documents into train/validation/test, deterministically for a seed.
 * Within each corpus, documents are ordered by sha256(seed, id) and cut at the
 * fractions, so every corpus is represented in each split in proportion (a split
 * with a positive fraction gets at least one document of a corpus that has enough).
 * Each split lists its documents in input order.
 */
export function splitDocuments<D extends SplittableDocument>(documents: readonly D[], options: SplitOptions): DatasetSplit<D> {
  const fractions = fractionsSchema.parse(options.fractions ?? DEFAULT_FRACTIONS);
  if (!Number.isSafeInteger(options.seed)) throw new RangeError(`seed must be a safe integer, got ${options.seed}`);
  const ids = new Set<string>();
  for (const document of documents) {
    if (ids.has(document.id)) throw new Error(`document id ${JSON.stringify(document.id)} appears more than once`);
    ids.add(document.id);
  }

  const assigned = new Map<string, SplitName>();
  for (const group of groupByCorpus(documents)) {
    const order = group
      .map((document) => ({ id: document.id, key: seededKey(options.seed, document.id) }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.id < b.id ? -1 : 1));
    const counts = apportion(order.length, fractions);
    // Cut order: test, then validation, then the rest for training.
    let next = 0;
    for (const split of ['test', 'validation', 'train'] as const) {
      for (let k = 0; k < counts[split]; k++) assigned.set(order[next++].id, split);
    }
  }

  const parts: Record<SplitName, D[]> = { train: [], validation: [], test: [] };
  for (const document of documents) parts[assigned.get(document.id) as SplitName].push(document);
  const descriptor: SplitDescriptor = {
    name: options.name,
    seed: options.seed,
    fractions,
    hashes: { train: contentHash(parts.train), validation: contentHash(parts.validation), test: contentHash(parts.test) },
    documents: { train: parts.train.length, validation: parts.validation.length, test: parts.test.length },
  };
  return { ...parts, descriptor };
}

/** sha256 (hex) over the documents in order, each framed as the JSON array [id, text] plus a newline. */
export function contentHash(documents: readonly SplittableDocument[]): string {
  const hash = createHash('sha256');
  for (const document of documents) hash.update(`${JSON.stringify([document.id, document.text])}\n`);
  return hash.digest('hex');
}

function groupByCorpus<D extends SplittableDocument>(documents: readonly D[]): D[][] {
  const groups = new Map<string, D[]>();
  for (const document of documents) {
    const group = groups.get(document.corpus) ?? [];
    group.push(document);
    groups.set(document.corpus, group);
  }
  return [...groups.values()];
}

function seededKey(seed: number, id: string): string {
  return createHash('sha256').update(`${seed}\u0000${id}`).digest('hex');
}

/**
 * Whole document counts per split summing to n: largest-remainder rounding of
 * n * fraction, then each split with a positive fraction but no document takes one
 * from the largest split, as long as that leaves the largest split non-empty.
 */
function apportion(n: number, fractions: SplitFractions): Record<SplitName, number> {
  const counts = { train: 0, validation: 0, test: 0 };
  const quotas = SPLIT_NAMES.map((split) => ({ split, quota: n * fractions[split] }));
  let left = n;
  for (const { split, quota } of quotas) {
    counts[split] = Math.floor(quota);
    left -= counts[split];
  }
  const byRemainder = [...quotas].sort((a, b) => b.quota - Math.floor(b.quota) - (a.quota - Math.floor(a.quota)));
  for (let i = 0; i < left; i++) counts[byRemainder[i].split]++;
  for (const split of ['train', 'test', 'validation'] as const) {
    if (fractions[split] === 0 || counts[split] > 0) continue;
    const largest = SPLIT_NAMES.reduce((a, b) => (counts[b] > counts[a] ? b : a));
    if (counts[largest] < 2) break;
    counts[largest]--;
    counts[split]++;
  }
  return counts;
}
