/**
 * The calibration set of a run (`recipe.calibration`): resolved in the worker's main thread
 * (a dataset id becomes that team dataset's bytes), sampled in a Piscina thread with the
 * base model's tokenizer (seeded windows, packages/data sampleSequences), and returned with
 * the bytes the run stores as its `calibration` artifact: the sequences as little-endian
 * int32, concatenated. The artifact's sha256 is the calibration set's content hash.
 */
import { createHash } from 'node:crypto';
import type { ArtifactStore, PutResult } from '@distillery/artifacts';
import { readArtifact } from '@distillery/artifacts';
import { parseUserDataset, sampleSequences } from '@distillery/data';
import type { PrismaClient } from '@distillery/db';
import { encodeDocuments, parseTokenizer } from '@distillery/nn';
import { CalibrationSettingsSchema, type CalibrationSet, type CalibrationSettings } from '@distillery/techniques';
import { PermanentRunError } from './run-errors';
import { heldOutTokens, trainingTokens } from './training-tokens';

export interface CalibrationTaskInput {
  settings: CalibrationSettings;
  /** The dataset's bytes when `settings.source` is a dataset id. */
  dataset?: { name: string; format: 'text' | 'jsonl'; bytes: ArrayBuffer };
}

/** `recipe.calibration`, validated; undefined when the recipe names none. */
export function calibrationSettings(recipe: unknown): CalibrationSettings | undefined {
  const raw = recipe !== null && typeof recipe === 'object' && !Array.isArray(recipe) ? (recipe as Record<string, unknown>).calibration : undefined;
  if (raw === undefined) return undefined;
  const parsed = CalibrationSettingsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new PermanentRunError(`invalid recipe.calibration: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(calibration)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** Main thread: what the thread needs to sample; a dataset must belong to the run's team. */
export async function calibrationInput(prisma: PrismaClient, store: ArtifactStore, teamId: string, settings: CalibrationSettings): Promise<CalibrationTaskInput> {
  if (settings.source.startsWith('bundled:')) return { settings };
  const dataset = await prisma.dataset.findFirst({ where: { id: settings.source, teamId } });
  if (!dataset) throw new PermanentRunError(`recipe.calibration.source: no dataset ${settings.source} in this team`);
  const bytes = await readArtifact(store, dataset.sha256);
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return { settings, dataset: { name: dataset.name, format: dataset.kind === 'jsonl' ? 'jsonl' : 'text', bytes: copy } };
}

function sourceTokens(input: CalibrationTaskInput, tokenizerJson: string): Int32Array {
  const { source } = input.settings;
  if (source === 'bundled:train') return trainingTokens(tokenizerJson);
  if (source === 'bundled:validation') return heldOutTokens(tokenizerJson);
  if (!input.dataset) throw new Error(`calibration source ${source}: the dataset bytes were not provided`);
  const docs = parseUserDataset(new Uint8Array(input.dataset.bytes), { format: input.dataset.format, name: input.dataset.name });
  return encodeDocuments(parseTokenizer(tokenizerJson), docs.map((d) => d.text));
}

export function encodeCalibrationSet(sequences: readonly Int32Array[]): Uint8Array {
  const total = sequences.reduce((n, s) => n + s.length, 0);
  const bytes = new Uint8Array(total * 4);
  const view = new DataView(bytes.buffer);
  let at = 0;
  for (const s of sequences) for (const t of s) view.setInt32((at++) * 4, t, true);
  return bytes;
}

/** Thread side: the sampled sequences, their stored bytes and sha256. */
export function sampleCalibrationSet(input: CalibrationTaskInput, tokenizerJson: string | null): { set: CalibrationSet; bytes: Uint8Array } {
  if (tokenizerJson === null) throw new Error("recipe.calibration needs the base model's tokenizer, and the base model has none");
  const { sequences: n, length, seed, source } = input.settings;
  const tokens = sourceTokens(input, tokenizerJson);
  if (tokens.length < length) throw new Error(`recipe.calibration.length: ${source} has ${tokens.length} tokens, fewer than one window of ${length}`);
  const sequences = sampleSequences(tokens, n, length, seed);
  const bytes = encodeCalibrationSet(sequences);
  return { set: { sequences, sha256: createHash('sha256').update(bytes).digest('hex') }, bytes };
}

/** Stores the sampled set; the store's hash must be the one the thread computed. */
export async function storeCalibrationSet(store: ArtifactStore, sampled: { sha256: string; bytes: Uint8Array }): Promise<PutResult> {
  const put = await store.put(sampled.bytes);
  if (put.sha256 !== sampled.sha256) throw new Error(`calibration set hash mismatch: thread ${sampled.sha256}, store ${put.sha256}`);
  return put;
}
