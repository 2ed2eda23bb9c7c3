/**
 * Where the CLI finds the API and its token: DISTILLERY_TOKEN / DISTILLERY_API_URL first,
 * then the file `distillery login` wrote ($XDG_CONFIG_HOME or ~/.config, distillery/credentials.json,
 * mode 0600 since it holds a bearer token).
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { AuthError } from './auth-error';

export const DEFAULT_API_URL = 'http://127.0.0.1:4000';

const storedSchema = z.object({ apiUrl: z.string().url(), token: z.string().min(1), email: z.string().optional(), tokenId: z.string().optional() });
export type StoredCredentials = z.infer<typeof storedSchema>;

export interface Connection {
  apiUrl: string;
  graphqlUrl: string;
  token: string;
}

export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'distillery', 'credentials.json');
}

export async function readCredentials(file = credentialsFile()): Promise<StoredCredentials | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  const parsed = storedSchema.safeParse(json);
  if (!parsed.success) throw new AuthError(`${file} is not a credentials file written by distillery login; run distillery login again`);
  return parsed.data;
}

export async function writeCredentials(credentials: StoredCredentials, file = credentialsFile()): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, file);
}

export function trimUrl(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/graphql$/, '');
}

/** The API and token every command but login uses; an AuthError when there is no token. */
export async function connection(env: NodeJS.ProcessEnv = process.env): Promise<Connection> {
  const stored = await readCredentials(credentialsFile(env));
  const token = env.DISTILLERY_TOKEN || stored?.token;
  if (!token) throw new AuthError('not signed in: run distillery login, or set DISTILLERY_TOKEN');
  const apiUrl = trimUrl(env.DISTILLERY_API_URL || stored?.apiUrl || DEFAULT_API_URL);
  return { apiUrl, graphqlUrl: `${apiUrl}/graphql`, token };
}
