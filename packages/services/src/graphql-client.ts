/** GraphQL over HTTP as any outside client speaks it: JSON POST with a bearer token. */

export interface GraphqlError {
  message: string;
  extensions?: { code?: string; field?: string };
}

export class GraphqlCallError extends Error {
  override name = 'GraphqlCallError';
  constructor(readonly errors: GraphqlError[]) {
    super(`GraphQL errors: ${errors.map((e) => `${e.message}${e.extensions?.code ? ` (${e.extensions.code})` : ''}`).join('; ')}`);
  }

  hasCode(code: string): boolean {
    return this.errors.some((e) => e.extensions?.code === code);
  }
}

export interface GraphqlClient {
  (query: string, variables?: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/** Sends one operation; throws GraphqlCallError when the answer carries errors. */
export async function graphql<T = Record<string, unknown>>(url: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: { data?: T | null; errors?: GraphqlError[] };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`HTTP ${res.status} from ${url} without JSON: ${text.slice(0, 300)}`);
  }
  if (body.errors?.length || !body.data) throw new GraphqlCallError(body.errors ?? [{ message: `HTTP ${res.status} without data` }]);
  return body.data;
}

/** `POST /upload` of raw bytes; answers the sha256 for importModel. */
export async function uploadBytes(apiUrl: string, bytes: Uint8Array, token: string): Promise<{ sha256: string; bytes: number }> {
  const res = await fetch(`${apiUrl}/upload`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${token}` },
    body: new Blob([new Uint8Array(bytes)]),
  });
  const body = (await res.json()) as { sha256?: string; bytes?: number; errors?: GraphqlError[] };
  if (res.status !== 201 || !body.sha256) throw new GraphqlCallError(body.errors ?? [{ message: `upload answered HTTP ${res.status}` }]);
  return { sha256: body.sha256, bytes: body.bytes ?? bytes.byteLength };
}
