/**
 * The safetensors files of a Hugging Face folder: `model.safetensors.index.json`'s weight
 * map over its shards when present, else the one `model.safetensors`. Each tensor is found
 * in the shard that holds it; a shard the index names must exist and hold what the index says.
 */
import { access, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { FormatError } from '../format-error';
import { SafetensorsReader } from './safetensors-reader';
import type { SafetensorsTensorInfo } from './safetensors-header';

export const INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_FILE = 'model.safetensors';

/** A shard must be a file of the folder itself, not a link leading elsewhere (server-side imports are confined to their root). */
async function insideFolder(dir: string, shard: string, index: string): Promise<void> {
  const [folder, file] = await Promise.all([realpath(dir), realpath(path.join(dir, shard)).catch(() => null)]);
  if (file === null) throw new FormatError(index, `weight_map`, `names shard ${JSON.stringify(shard)}, which is not in the folder`);
  if (path.dirname(file) !== folder) throw new FormatError(index, 'weight_map', `shard ${JSON.stringify(shard)} leads outside the model's folder`);
}

export class SafetensorsShards {
  private constructor(
    private readonly byTensor: ReadonlyMap<string, SafetensorsReader>,
    readonly readers: readonly SafetensorsReader[],
  ) {}

  static async open(dir: string): Promise<SafetensorsShards> {
    const index = path.join(dir, INDEX_FILE);
    const hasIndex = await access(index).then(() => true, () => false);
    const readers: SafetensorsReader[] = [];
    const byTensor = new Map<string, SafetensorsReader>();
    if (!hasIndex) {
      const reader = await SafetensorsReader.open(path.join(dir, SINGLE_FILE));
      readers.push(reader);
      for (const name of reader.header.tensors.keys()) byTensor.set(name, reader);
      return new SafetensorsShards(byTensor, readers);
    }
    let json: unknown;
    try {
      json = JSON.parse(await readFile(index, 'utf8'));
    } catch (error) {
      throw new FormatError(index, '(file)', `not valid JSON (${(error as Error).message})`);
    }
    const map = (json as { weight_map?: unknown } | null)?.weight_map;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new FormatError(index, 'weight_map', 'must map tensor names to shard file names');
    const byFile = new Map<string, SafetensorsReader>();
    for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\') || shard === '..') {
        throw new FormatError(index, `weight_map.${name}`, `must be a file name in the same folder, got ${JSON.stringify(shard)}`);
      }
      let reader = byFile.get(shard);
      if (!reader) {
        await insideFolder(dir, shard, index);
        reader = await SafetensorsReader.open(path.join(dir, shard));
        byFile.set(shard, reader);
        readers.push(reader);
      }
      if (!reader.header.tensors.has(name)) throw new FormatError(path.join(dir, shard), name, `${INDEX_FILE} places this tensor here but the shard does not hold it`);
      byTensor.set(name, reader);
    }
    return new SafetensorsShards(byTensor, readers);
  }

  get names(): string[] {
    return [...this.byTensor.keys()];
  }

  has(name: string): boolean {
    return this.byTensor.has(name);
  }

  info(name: string): SafetensorsTensorInfo {
    return this.reader(name).info(name);
  }

  fileOf(name: string): string {
    return this.reader(name).file;
  }

  readBytes(name: string): Promise<Uint8Array> {
    return this.reader(name).readBytes(name);
  }

  readFloat32(name: string): Promise<Float32Array> {
    return this.reader(name).readFloat32(name);
  }

  readFloat16Bits(name: string): Promise<Uint16Array> {
    return this.reader(name).readFloat16Bits(name);
  }

  /** Bytes of every tensor in every shard. */
  get tensorBytes(): number {
    let n = 0;
    for (const r of this.readers) for (const t of r.header.tensors.values()) n += t.end - t.begin;
    return n;
  }

  private reader(name: string): SafetensorsReader {
    const reader = this.byTensor.get(name);
    if (!reader) throw new FormatError(this.readers[0]?.file ?? SINGLE_FILE, name, 'no shard holds this tensor');
    return reader;
  }
}
