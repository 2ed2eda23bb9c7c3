/**
 * Training checkpoints: a directory holding `manifest.json` and one binary file of raw
 * little-endian float32 tensors (parameters, then AdamW moments). The binary gets a fresh name
 * each save and the manifest is replaced by rename last, so a crash at any point leaves either
 * the old checkpoint or the new one, never a mix. A SHA-256 of the binary is verified on load.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { endianness } from 'node:os';
import path from 'node:path';
import type { AdamWState } from './adamw';
import type { RngState } from './rng';
import type { JsonValue, ParamMap } from './types';

export interface CheckpointState {
  /** Optimizer steps completed. */
  step: number;
  params: ParamMap;
  optimizer?: AdamWState;
  rng?: RngState;
  dataCursor?: JsonValue;
  /** Anything else the trainer wants back verbatim (loss curve, evals). */
  meta?: JsonValue;
}

type Role = 'param' | 'adam.m' | 'adam.v';

interface TensorEntry {
  name: string;
  role: Role;
  /** Byte offset in the binary file. */
  offset: number;
  /** float32 element count. */
  length: number;
}

interface Manifest {
  format: 'distillery-train-checkpoint';
  version: 1;
  step: number;
  binary: { file: string; bytes: number; sha256: string; dtype: 'float32'; byteOrder: 'little' };
  tensors: TensorEntry[];
  optimizer: { t: number } | null;
  rng: RngState | null;
  dataCursor: JsonValue;
  meta: JsonValue;
}

const MANIFEST = 'manifest.json';

function requireLittleEndian(): void {
  // Float32Array bytes are written as-is; a big-endian host would need byte swapping.
  if (endianness() !== 'LE') throw new Error('checkpoints are written as little-endian float32; this host is big-endian');
}

export async function hasCheckpoint(dir: string): Promise<boolean> {
  try {
    await stat(path.join(dir, MANIFEST));
    return true;
  } catch {
    return false;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function saveCheckpoint(dir: string, state: CheckpointState): Promise<void> {
  requireLittleEndian();
  await mkdir(dir, { recursive: true });
  const blocks: { name: string; role: Role; data: Float32Array }[] = [];
  for (const [name, data] of state.params) blocks.push({ name, role: 'param', data });
  if (state.optimizer) {
    for (const [name, data] of state.optimizer.m) blocks.push({ name, role: 'adam.m', data });
    for (const [name, data] of state.optimizer.v) blocks.push({ name, role: 'adam.v', data });
  }

  const binName = `tensors-${state.step}-${randomBytes(4).toString('hex')}.bin`;
  const binTmp = path.join(dir, `${binName}.tmp`);
  const hash = createHash('sha256');
  const tensors: TensorEntry[] = [];
  let offset = 0;
  const fh = await open(binTmp, 'w');
  try {
    for (const b of blocks) {
      const bytes = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
      await fh.write(bytes);
      hash.update(bytes);
      tensors.push({ name: b.name, role: b.role, offset, length: b.data.length });
      offset += bytes.byteLength;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(binTmp, path.join(dir, binName));

  const manifest: Manifest = {
    format: 'distillery-train-checkpoint',
    version: 1,
    step: state.step,
    binary: { file: binName, bytes: offset, sha256: hash.digest('hex'), dtype: 'float32', byteOrder: 'little' },
    tensors,
    optimizer: state.optimizer ? { t: state.optimizer.t } : null,
    rng: state.rng ?? null,
    dataCursor: state.dataCursor ?? null,
    meta: state.meta ?? null,
  };
  const manTmp = path.join(dir, `${MANIFEST}.${randomBytes(4).toString('hex')}.tmp`);
  const mh = await open(manTmp, 'w');
  try {
    await mh.writeFile(JSON.stringify(manifest));
    await mh.sync();
  } finally {
    await mh.close();
  }
  // The commit point: from here on readers see the new checkpoint.
  await rename(manTmp, path.join(dir, MANIFEST));
  await fsyncDir(dir);

  for (const f of await readdir(dir)) {
    if (f !== binName && /^tensors-.*\.bin(\.tmp)?$/.test(f)) await rm(path.join(dir, f), { force: true });
  }
}

function parseManifest(dir: string, text: string): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new Error(`checkpoint ${dir}: ${MANIFEST} is not valid JSON (${(e as Error).message})`);
  }
  const man = m as Partial<Manifest> | null;
  if (!man || man.format !== 'distillery-train-checkpoint' || man.version !== 1) {
    throw new Error(`checkpoint ${dir}: ${MANIFEST} is not a version-1 Distillery training checkpoint`);
  }
  if (!man.binary || typeof man.binary.file !== 'string' || !/^tensors-[\w-]+\.bin$/.test(man.binary.file) || !Array.isArray(man.tensors)) {
    throw new Error(`checkpoint ${dir}: ${MANIFEST} is missing its binary file or tensor list`);
  }
  return man as Manifest;
}

export async function loadCheckpoint(dir: string): Promise<CheckpointState> {
  requireLittleEndian();
  let text: string;
  try {
    text = await readFile(path.join(dir, MANIFEST), 'utf8');
  } catch {
    throw new Error(`checkpoint ${dir}: no ${MANIFEST} (not a checkpoint directory, or nothing was saved yet)`);
  }
  const man = parseManifest(dir, text);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path.join(dir, man.binary.file));
  } catch {
    throw new Error(`checkpoint ${dir}: binary file ${man.binary.file} named by ${MANIFEST} is missing`);
  }
  if (bytes.byteLength !== man.binary.bytes) {
    throw new Error(`checkpoint ${dir}: ${man.binary.file} has ${bytes.byteLength} bytes, manifest says ${man.binary.bytes} (truncated or replaced)`);
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== man.binary.sha256) {
    throw new Error(`checkpoint ${dir}: checksum mismatch for ${man.binary.file} (sha256 ${sha}, manifest says ${man.binary.sha256}); the file is corrupt`);
  }

  const params: ParamMap = new Map();
  const m: ParamMap = new Map();
  const v: ParamMap = new Map();
  for (const t of man.tensors) {
    const end = t.offset + t.length * 4;
    if (!Number.isInteger(t.offset) || !Number.isInteger(t.length) || t.offset < 0 || end > bytes.byteLength) {
      throw new Error(`checkpoint ${dir}: tensor "${t.name}" lies outside ${man.binary.file}`);
    }
    // Copy into a fresh, aligned buffer; readFile's Buffer may sit at any byte offset.
    const a = new Float32Array(t.length);
    new Uint8Array(a.buffer).set(bytes.subarray(t.offset, end));
    const target = t.role === 'param' ? params : t.role === 'adam.m' ? m : t.role === 'adam.v' ? v : null;
    if (!target) throw new Error(`checkpoint ${dir}: tensor "${t.name}" has unknown role "${String(t.role)}"`);
    target.set(t.name, a);
  }
  return {
    step: man.step,
    params,
    optimizer: man.optimizer ? { t: man.optimizer.t, m, v } : undefined,
    rng: man.rng ?? undefined,
    dataCursor: man.dataCursor,
    meta: man.meta,
  };
}
