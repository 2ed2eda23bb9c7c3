/** The GraphQL documents the dashboard sends, with the shapes they answer. */
import type { ImportReport } from '@distillery/formats/import-report';
import type { LayerSensitivity } from './sensitivity-heatmap';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';

export interface Metric {
  name: string;
  value: number;
  step: number | null;
  runStepId: string | null;
  /** From the metric catalogue (absent for a step's own figures). */
  label?: string | null;
  unit?: string | null;
}

export type ModelStatus = 'importing' | 'ready' | 'failed';

export interface ModelSummary {
  id: string;
  /** importing until a worker has validated the upload; failed carries the reason in error. */
  status: ModelStatus;
  error: string | null;
  /** Set for models a run produced; imported base models have none. */
  producedByRun?: { id: string } | null;
  /** What the worker found in an imported file (format, architecture, tensor types, tokenizer, warnings). */
  importReport?: ImportReport | null;
  name: string;
  bytes: number;
  parameterCount: number;
  createdAt: string;
}

export interface RunRow {
  id: string;
  status: RunStatus;
  recipe: unknown;
  progress: number;
  progressMessage: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  baseModel: { id: string; name: string };
  metrics: Metric[];
}

export interface RunStepRow {
  id: string;
  index: number;
  techniqueId: string;
  params: unknown;
  status: RunStatus;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface RunDetail extends RunRow {
  seed: number;
  attempts: number;
  project: { id: string; name: string; team: { id: string; name: string } };
  steps: RunStepRow[];
  outputModel: ModelSummary | null;
  /** Suite, task scores and generated samples; read by client/run-evaluation.ts. */
  evaluation: unknown;
  /** Per-layer sensitivity, when the recipe asked for it (recipe.eval.sensitivity). */
  sensitivity: LayerSensitivity[] | null;
}

export interface Technique {
  id: string;
  family: string;
  title: string;
  description: string;
  /** JSON Schema of the parameters (input side, with defaults); read by client/params-schema.ts. */
  paramsSchema: unknown;
}

export interface TeamWithProjects {
  id: string;
  name: string;
  slug: string;
  viewerRole: string;
  projects: { id: string; name: string; description: string | null; createdAt: string }[];
}

export const SIGN_UP = `mutation SignUp($email: String!, $password: String!, $name: String) { signUp(email: $email, password: $password, name: $name) { message } }`;

export const VIEWER = `query Viewer { viewer { id email name } }`;

export const TEAMS = `query Teams { teams { id name slug viewerRole projects { id name description createdAt } } }`;
export const CREATE_TEAM = `mutation CreateTeam($name: String!) { createTeam(name: $name) { id } }`;
export const CREATE_PROJECT = `mutation CreateProject($teamId: ID!, $name: String!, $description: String) { createProject(teamId: $teamId, name: $name, description: $description) { id } }`;

export const RUN_ROW = `id status recipe progress progressMessage createdAt startedAt finishedAt error baseModel { id name } metrics { name value step runStepId label unit }`;

export const PROJECT_PAGE = `query ProjectPage($id: ID!, $first: Int) {
  project(id: $id) { id name description team { id name } models { id name status error bytes parameterCount createdAt producedByRun { id } importReport { format architecture parameters dtypes tokenizerKind warnings } } }
  runs(projectId: $id, first: $first) { edges { node { ${RUN_ROW} } } pageInfo { hasNextPage endCursor } }
}`;
export interface ProjectPageAnswer {
  project: { id: string; name: string; description: string | null; team: { id: string; name: string }; models: ModelSummary[] };
  runs: { edges: { node: RunRow }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

export const PROJECT = `query Project($id: ID!) {
  project(id: $id) { id name description team { id name } models { id name status error bytes parameterCount createdAt producedByRun { id } importReport { format architecture parameters dtypes tokenizerKind warnings } } }
}`;
export interface ProjectAnswer {
  project: ProjectPageAnswer['project'];
}

export const RUNS_PAGE = `query RunsPage($projectId: ID!, $first: Int, $after: String, $filter: RunFilter) {
  runs(projectId: $projectId, first: $first, after: $after, filter: $filter) { edges { node { ${RUN_ROW} } } pageInfo { hasNextPage endCursor } }
}`;
export interface RunsPageAnswer {
  runs: ProjectPageAnswer['runs'];
}

export const TECHNIQUES = `query Techniques { techniques { id family title description paramsSchema } }`;

export const CREATE_RUN = `mutation CreateRun($projectId: ID!, $baseModelId: ID!, $recipe: JSON!, $seed: Int) {
  createRun(projectId: $projectId, baseModelId: $baseModelId, recipe: $recipe, seed: $seed) { id status }
}`;

export const IMPORT_MODEL = `mutation ImportModel($projectId: ID!, $name: String!, $sha256: String!, $tokenizerSha256: String, $configSha256: String, $files: [ImportFileInput!]) {
  importModel(projectId: $projectId, name: $name, sha256: $sha256, tokenizerSha256: $tokenizerSha256, configSha256: $configSha256, files: $files) { id name status }
}`;

export const RUN_PAGE = `query RunPage($id: ID!) {
  run(id: $id) {
    ${RUN_ROW} seed attempts
    project { id name team { id name } }
    steps { id index techniqueId params status startedAt finishedAt }
    outputModel { id name status error bytes parameterCount createdAt }
    evaluation
    sensitivity { layer weights bits sparsity bitsPerWeight kl top1 pplDelta }
  }
}`;

export const METRIC_SERIES = `query MetricSeries($id: ID!, $name: String!) { run(id: $id) { metricSeries(name: $name) { name value step runStepId } } }`;

export const CANCEL_RUN = `mutation CancelRun($id: ID!) { cancelRun(id: $id) { id status } }`;

export interface PendingInvitation {
  id: string;
  teamName: string;
  role: string;
  invitedBy: string | null;
}

export const INVITATIONS = `query Invitations { invitations { id teamName role invitedBy } }`;
export const ACCEPT_INVITATION = `mutation AcceptInvitation($id: ID!) { acceptInvitation(id: $id) { role } }`;
export const DECLINE_INVITATION = `mutation DeclineInvitation($id: ID!) { declineInvitation(id: $id) { status } }`;
export const INVITE_MEMBER = `mutation InviteMember($teamId: ID!, $email: String!, $role: Role!) { inviteMember(teamId: $teamId, email: $email, role: $role) { id } }`;
