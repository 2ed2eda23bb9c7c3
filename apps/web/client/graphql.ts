/**
 * A minimal GraphQL-over-HTTP client for `/graphql` (proxied to the API by a route
 * handler). The session travels in an httpOnly cookie the browser sends by itself; the
 * header below tells the proxy the request comes from our own pages.
 */
export const CSRF_HEADERS = { 'x-distillery-csrf': '1' } as const;

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
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...CSRF_HEADERS,
    },
    body: JSON.stringify({ query, variables }),
  });
  let body: { data?: T | null; errors?: GraphqlErrorItem[] };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new GraphqlRequestError([{ message: `the API answered HTTP ${res.status} without JSON` }], res.status);
  }
  if (body.errors?.length || !body.data) throw new GraphqlRequestError(body.errors ?? [], res.status);
  return body.data;
}

/** `POST /upload` of the raw bytes as the team's upload; answers the sha256 to pass to importModel. */
export async function uploadBytes(file: Blob, teamId: string): Promise<{ sha256: string; bytes: number }> {
  const res = await fetch(`/upload?teamId=${encodeURIComponent(teamId)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', ...CSRF_HEADERS },
    body: file,
  });
  const body = (await res.json().catch(() => ({}))) as { sha256?: string; bytes?: number; errors?: GraphqlErrorItem[] };
  if (!res.ok || !body.sha256) throw new GraphqlRequestError(body.errors ?? [], res.status);
  return { sha256: body.sha256, bytes: body.bytes ?? file.size };
}
