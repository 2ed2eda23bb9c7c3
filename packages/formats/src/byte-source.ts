/**
 * Bytes read by offset from a file (through a handle, so only what is asked for is in
 * memory) or from a buffer already in memory (an upload handed to a worker thread).
 */
import { open } from 'node:fs/promises';

export interface ByteSource {
  /** File name for messages. */
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes at `offset`, or fewer at the end of the source. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export async function fileSource(file: string): Promise<ByteSource> {
  const handle = await open(file, 'r');
  const size = (await handle.stat()).size;
  return {
    name: file,
    size,
    async read(offset, length) {
      const out = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      const { bytesRead } = await handle.read(out, 0, out.byteLength, offset);
      return out.subarray(0, bytesRead);
    },
    close: () => handle.close(),
  };
}

export function bufferSource(bytes: Uint8Array, name: string): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    // A copy, so callers may view it as floats (aligned) and keep it past the buffer.
    read: async (offset, length) => bytes.slice(offset, Math.min(bytes.byteLength, offset + length)),
    close: async () => undefined,
  };
}
