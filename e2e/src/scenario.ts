/**
 * What several e2e tests do first, through the public API only: a new user with a team,
 * a project and an uploaded model; and waiting for a run to finish.
 */
import { buildDecoder, decoderPreset, initDecoderWeights } from '@distillery/nn';
import { serializeModel } from '@distillery/onnx';
import { graphql, uploadBytes, waitForModelReady } from '@distillery/services';

export interface Workspace {
  email: string;
  password: string;
  token: string;
  teamId: string;
  projectId: string;
  modelId: string;
}

/** A random-weight tiny Llama decoder (packages/nn), as an uploaded ONNX file. */
export function tinyDecoderBytes(seed = 3): Uint8Array {
  const config = decoderPreset('tiny');
  return serializeModel(buildDecoder(config, initDecoderWeights(config, seed, 0.1))).model;
}

let counter = 0;

export function uniqueEmail(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${counter++}@example.com`;
}

export interface WorkspaceOptions {
  /** The base model to upload instead of the tokenizer-less tiny decoder (with its tokenizer, runs score perplexity). */
  model?: { name: string; onnx: Uint8Array; tokenizerJson: string };
}

export async function createWorkspace(apiUrl: string, name = 'e2e', opts: WorkspaceOptions = {}): Promise<Workspace> {
  const url = `${apiUrl}/graphql`;
  const email = uniqueEmail(name);
  const password = 'correct horse battery staple';
  await graphql(url, 'mutation($e: String!, $p: String!) { signUp(email: $e, password: $p) { message } }', { e: email, p: password });
  const { signIn } = await graphql<{ signIn: { token: string } }>(url, 'mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }', { e: email, p: password });
  const token = signIn.token;
  const team = await graphql<{ createTeam: { id: string } }>(url, 'mutation($n: String!) { createTeam(name: $n) { id } }', { n: `Team ${email}` }, token);
  const project = await graphql<{ createProject: { id: string } }>(url, 'mutation($t: ID!) { createProject(teamId: $t, name: "int8") { id } }', { t: team.createTeam.id }, token);
  const uploaded = await uploadBytes(apiUrl, opts.model?.onnx ?? tinyDecoderBytes(), token, team.createTeam.id);
  const tokenizer = opts.model ? await uploadBytes(apiUrl, new TextEncoder().encode(opts.model.tokenizerJson), token, team.createTeam.id) : null;
  const model = await graphql<{ importModel: { id: string } }>(
    url,
    'mutation($p: ID!, $n: String!, $s: String!, $t: String) { importModel(projectId: $p, name: $n, sha256: $s, tokenizerSha256: $t) { id } }',
    { p: project.createProject.id, n: opts.model?.name ?? 'tiny-decoder', s: uploaded.sha256, t: tokenizer?.sha256 ?? null },
    token,
  );
  await waitForModelReady(apiUrl, token, model.importModel.id);
  return { email, password, token, teamId: team.createTeam.id, projectId: project.createProject.id, modelId: model.importModel.id };
}

export interface FinishedRun {
  id: string;
  status: string;
  error: string | null;
  metrics: { name: string; value: number; runStepId: string | null }[];
  outputModel: { id: string; bytes: number } | null;
}

/** Polls `run(id)` until it leaves queued/running. */
export async function waitForRun(apiUrl: string, token: string, runId: string, timeoutMs = 120_000): Promise<FinishedRun> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { run } = await graphql<{ run: FinishedRun }>(
      `${apiUrl}/graphql`,
      'query($id: ID!) { run(id: $id) { id status error metrics { name value runStepId } outputModel { id bytes } } }',
      { id: runId },
      token,
    );
    if (run.status !== 'queued' && run.status !== 'running') return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${run.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
