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

/** `POST /upload` of raw bytes as the team's upload; answers the sha256 for importModel. */
export async function uploadBytes(apiUrl: string, bytes: Uint8Array, token: string, teamId?: string): Promise<{ sha256: string; bytes: number }> {
  const res = await fetch(`${apiUrl}/upload${teamId ? `?teamId=${encodeURIComponent(teamId)}` : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${token}` },
    body: new Blob([new Uint8Array(bytes)]),
  });
  const body = (await res.json()) as { sha256?: string; bytes?: number; errors?: GraphqlError[] };
  if (res.status !== 201 || !body.sha256) throw new GraphqlCallError(body.errors ?? [{ message: `upload answered HTTP ${res.status}` }]);
  return { sha256: body.sha256, bytes: body.bytes ?? bytes.byteLength };
}

export interface ImportedModel {
  id: string;
  status: 'importing' | 'ready' | 'failed';
  error: string | null;
  parameterCount: number;
}

/** Polls model(id) until a worker has finished its import; throws with the reason when it failed. */
export async function waitForModelReady(apiUrl: string, token: string, modelId: string, timeoutMs = 120_000): Promise<ImportedModel> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { model } = await graphql<{ model: ImportedModel }>(`${apiUrl}/graphql`, 'query($id: ID!) { model(id: $id) { id status error parameterCount } }', { id: modelId }, token);
    if (model.status === 'ready') return model;
    if (model.status === 'failed') throw new Error(`the import of model ${modelId} failed: ${model.error ?? 'no reason recorded'}`);
    if (Date.now() > deadline) throw new Error(`model ${modelId} still importing after ${timeoutMs} ms (is a worker running?)`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
