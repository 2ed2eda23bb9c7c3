/**
 * Opaque keyset cursors for lists ordered by (createdAt desc, id desc): the position is
 * the last row's key, so pages stay exact while rows are inserted (offsets would skip or
 * repeat rows).
 */
export interface CursorKey {
  createdAt: Date;
  id: string;
}

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key.createdAt.toISOString(), key.id])).toString('base64url');
}

/** null when the string is not a cursor we issued. */
export function decodeCursor(cursor: string): CursorKey | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || typeof v[1] !== 'string') return null;
    const createdAt = new Date(v[0]);
    if (Number.isNaN(createdAt.getTime())) return null;
    if (!/^[0-9a-f-]{36}$/i.test(v[1])) return null;
    return { createdAt, id: v[1] };
  } catch {
    return null;
  }
}
