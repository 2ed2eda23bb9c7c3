/**
 * `tsx scripts/seed-demo.ts` (API_URL and DATABASE_URL from the environment), also run
 * by `npm start`: a demo user, team and project, the base model with its tokenizer
 * (waiting for a worker to finish its import), and two int8 runs queued so they finish while the user watches. Idempotent: what exists is
 * kept, and runs are queued only into an empty project.
 *
 * Everything goes through the public API, as a user's script would.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadDemoModel } from '../e2e/src/demo-model';
import { graphql, GraphqlCallError, uploadBytes, waitForModelReady } from '@distillery/services';
import { REPO_ROOT } from '@distillery/services';

export const DEMO_EMAIL = 'demo@distillery.local';
const CREDENTIALS_FILE = path.join(REPO_ROOT, '.data', 'demo-credentials.json');
const TEAM_SLUG = 'demo';
const PROJECT_NAME = 'compression-demo';

export interface SeedOptions {
  apiUrl: string;
  log?: (message: string) => void;
}

export interface SeedResult {
  email: string;
  password: string;
  teamId: string;
  projectId: string;
  modelId: string;
  /** Runs queued by this call (none when the project already had runs). */
  queuedRunIds: string[];
}

/** The demo password: made once at random and kept in .data/ (gitignored) so re-seeding signs in again. */
async function demoPassword(): Promise<string> {
  try {
    const saved = JSON.parse(await readFile(CREDENTIALS_FILE, 'utf8')) as { email?: string; password?: string };
    if (saved.email === DEMO_EMAIL && typeof saved.password === 'string') return saved.password;
  } catch {
    // First run.
  }
  const password = `demo-${randomBytes(6).toString('hex')}`;
  await mkdir(path.dirname(CREDENTIALS_FILE), { recursive: true });
  await writeFile(CREDENTIALS_FILE, JSON.stringify({ email: DEMO_EMAIL, password }, null, 2) + '\n', { mode: 0o600 });
  return password;
}

async function signIn(gqlUrl: string, password: string): Promise<string> {
  const r = await graphql<{ signIn: { token: string } }>(gqlUrl, 'mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }', { e: DEMO_EMAIL, p: password });
  return r.signIn.token;
}

async function signInOrUp(gqlUrl: string, password: string): Promise<string> {
  try {
    return await signIn(gqlUrl, password);
  } catch (e) {
    if (!(e instanceof GraphqlCallError && e.hasCode('UNAUTHENTICATED'))) throw e;
  }
  // Sign-up answers the same whether or not the address exists; signing in tells.
  await graphql(gqlUrl, 'mutation($e: String!, $p: String!) { signUp(email: $e, password: $p, name: "Demo") { message } }', { e: DEMO_EMAIL, p: password });
  try {
    return await signIn(gqlUrl, password);
  } catch (e) {
    throw new Error(`${DEMO_EMAIL} exists with a password other than the one in ${CREDENTIALS_FILE}; delete that user or restore the file (${(e as Error).message})`);
  }
}

export async function seedDemo(opts: SeedOptions): Promise<SeedResult> {
  const log = opts.log ?? (() => {});
  const apiUrl = opts.apiUrl.replace(/\/+$/, '');
  const gqlUrl = `${apiUrl}/graphql`;
  const password = await demoPassword();
  const token = await signInOrUp(gqlUrl, password);
  const gql = <T>(query: string, variables: Record<string, unknown> = {}) => graphql<T>(gqlUrl, query, variables, token);

  const { teams } = await gql<{ teams: { id: string; slug: string; projects: { id: string; name: string }[] }[] }>('{ teams { id slug projects { id name } } }');
  let team = teams.find((t) => t.slug === TEAM_SLUG);
  if (!team) {
    const r = await gql<{ createTeam: { id: string; slug: string } }>('mutation($s: String!) { createTeam(name: "Demo", slug: $s) { id slug } }', { s: TEAM_SLUG });
    team = { ...r.createTeam, projects: [] };
    log(`created team "Demo"`);
  }
  let projectId = team.projects.find((p) => p.name === PROJECT_NAME)?.id;
  if (!projectId) {
    const r = await gql<{ createProject: { id: string } }>('mutation($t: ID!, $n: String!, $d: String) { createProject(teamId: $t, name: $n, description: $d) { id } }', {
      t: team.id,
      n: PROJECT_NAME,
      d: 'int8 weight-only quantization of the base model, compared on size and perplexity',
    });
    projectId = r.createProject.id;
    log(`created project "${PROJECT_NAME}"`);
  }

  const { models } = await gql<{ models: { id: string; name: string; status: string }[] }>('query($p: ID!) { models(projectId: $p) { id name status } }', { p: projectId });
  // A failed import from an earlier start is ignored: import again.
  let modelId = models.find((m) => (m.name === 'ref-base' || m.name === 'tiny-demo') && m.status !== 'failed')?.id;
  if (!modelId) {
    const demo = await loadDemoModel();
    log(`uploading base model ${demo.name} (${demo.parameterCount.toLocaleString('en-US')} parameters, ${demo.source})`);
    const model = await uploadBytes(apiUrl, demo.onnx, token, team.id);
    // The tokenizer goes with the model, so runs score perplexity with it.
    const tok = await uploadBytes(apiUrl, new TextEncoder().encode(demo.tokenizerJson), token, team.id);
    const r = await gql<{ importModel: { id: string } }>(
      'mutation($p: ID!, $n: String!, $s: String!, $t: String) { importModel(projectId: $p, name: $n, sha256: $s, tokenizerSha256: $t) { id } }',
      { p: projectId, n: demo.name, s: model.sha256, t: tok.sha256 },
    );
    modelId = r.importModel.id;
  }
  // The worker validates the import; runs can start once it is ready.
  await waitForModelReady(apiUrl, token, modelId);

  const { runs } = await gql<{ runs: { edges: unknown[] } }>('query($p: ID!) { runs(projectId: $p, first: 1) { edges { cursor } } }', { p: projectId });
  const queuedRunIds: string[] = [];
  if (runs.edges.length === 0) {
    const recipes = [
      { steps: [{ technique: 'quantize.rtn-int8', params: {} }] },
      // Keeping the LM head in float shows the size/quality trade-off next to the first run.
      { steps: [{ technique: 'quantize.rtn-int8', params: { skip: ['lm_head'] } }] },
    ];
    for (const recipe of recipes) {
      const r = await gql<{ createRun: { id: string } }>('mutation($p: ID!, $m: ID!, $r: JSON!) { createRun(projectId: $p, baseModelId: $m, recipe: $r) { id } }', {
        p: projectId,
        m: modelId,
        r: recipe,
      });
      queuedRunIds.push(r.createRun.id);
    }
    log(`queued ${queuedRunIds.length} demo runs`);
  }
  return { email: DEMO_EMAIL, password, teamId: team.id, projectId, modelId, queuedRunIds };
}

// Run directly against a running API: `API_URL=http://127.0.0.1:4000 tsx scripts/seed-demo.ts`
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await seedDemo({ apiUrl: process.env.API_URL ?? 'http://127.0.0.1:4000', log: (m) => console.log(m) });
  console.log(JSON.stringify(result, null, 2));
}
