/** Which failures the worker's writes retry (connection loss) and which they do not (everything else). */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { isConnectionLoss, retryOnConnectionLoss } from '../src/db-retry';

describe('retryOnConnectionLoss', () => {
  it('recognises a refused connection from a real socket, and not a SQL error', async () => {
    const refused = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:1/postgres' });
    const error = await refused.connect().then(() => null, (e: unknown) => e);
    expect(isConnectionLoss(error)).toBe(true);
    expect(isConnectionLoss(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }))).toBe(false);
    expect(isConnectionLoss(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: '57P01' }) }))).toBe(true);
  });

  it('retries until the write goes through, and gives up on other errors at once', async () => {
    let calls = 0;
    const value = await retryOnConnectionLoss(async () => {
      calls += 1;
      if (calls < 3) throw Object.assign(new Error('the database system is starting up'), { code: '57P03' });
      return 'written';
    });
    expect(value).toBe('written');
    expect(calls).toBe(3);
    let other = 0;
    await expect(
      retryOnConnectionLoss(async () => {
        other += 1;
        throw new Error('no such column');
      }),
    ).rejects.toThrow('no such column');
    expect(other).toBe(1);
  });
});
