/** A minimal GraphQL-over-HTTP client for `/graphql` (proxied to the API by next.config.ts). */
import { clearToken, getToken } from './session';

export interface GraphqlErrorItem {
  message: string;
  extensions?: { code?: string; field?: string };
}

export class GraphqlRequestError extends Error {
  override name = 'GraphqlRequestError';
  constructor(
    readonly errors: GraphqlErrorItem[],
    readonly status: number,
  ) {
    super(errors.map((e) => e.message).join('; ') || `request failed with HTTP ${status}`);
  }

  get unauthenticated(): boolean {
    return this.errors.some((e) => e.extensions?.code === 'UNAUTHENTICATED');
  }
}

export async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const token = getToken();
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  let body: { data?: T | null; errors?: GraphqlErrorItem[] };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new GraphqlRequestError([{ message: `the API answered HTTP ${res.status} without JSON` }], res.status);
  }
  if (body.errors?.length || !body.data) {
    const err = new GraphqlRequestError(body.errors ?? [], res.status);
    // A revoked or expired session: forget it so the next page asks to sign in again.
    if (err.unauthenticated) clearToken();
    throw err;
  }
  return body.data;
}

/** `POST /upload` of the raw bytes as the team's upload; answers the sha256 to pass to importModel. */
export async function uploadBytes(file: Blob, teamId: string): Promise<{ sha256: string; bytes: number }> {
  const token = getToken();
  const res = await fetch(`/upload?teamId=${encodeURIComponent(teamId)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: file,
  });
  const body = (await res.json().catch(() => ({}))) as { sha256?: string; bytes?: number; errors?: GraphqlErrorItem[] };
  if (!res.ok || !body.sha256) throw new GraphqlRequestError(body.errors ?? [], res.status);
  return { sha256: body.sha256, bytes: body.bytes ?? file.size };
}
