export const runsTypeDefs = /* GraphQL */ `
  enum RunStatus {
    queued
    running
    succeeded
    failed
    canceled
  }

  "A compression technique a recipe step can name."
  type Technique {
    id: ID!
    family: String!
    title: String!
    description: String!
    "JSON Schema of the step parameters (what createRun accepts for this technique)."
    paramsSchema: JSON!
  }

  type Run {
    id: ID!
    project: Project!
    baseModel: Model!
    "The base model's id, without reading the model (cheap over many runs, e.g. a trade-off's points)."
    baseModelId: ID!
    "The recipe as validated, with each technique's default parameters filled in."
    recipe: JSON!
    status: RunStatus!
    error: String
    seed: Int!
    "Fraction of the work done, 0 to 1."
    progress: Float!
    progressMessage: String
    attempts: Int!
    codeVersion: String
    createdAt: DateTime!
    startedAt: DateTime
    finishedAt: DateTime
    steps: [RunStep!]!
    "The latest value of each metric."
    metrics: [MetricValue!]!
    "Every recorded value of one metric, in step order."
    metricSeries(name: String!): [MetricValue!]!
    artifacts: [Artifact!]!
    "The calibration set the steps received, when the recipe asked for one."
    calibration: Artifact
    "The final model this run produced, once it has one."
    outputModel: Model
    "The evaluation suite the run was scored with (id, version, settings, data hashes, hash), task scores and generated samples of the base and output models side by side."
    evaluation: JSON
  }

  type RunStep {
    id: ID!
    index: Int!
    techniqueId: String!
    params: JSON!
    status: RunStatus!
    startedAt: DateTime
    finishedAt: DateTime
    outputModel: Model
  }

  type MetricValue {
    name: String!
    value: Float!
    step: Int
    runStepId: ID
    createdAt: DateTime!
    "From the metric catalogue; null for a step's own report figures."
    label: String
    unit: String
    lowerIsBetter: Boolean
    family: String
  }

  "One stored metric name of the catalogue: which figure of which model it is."
  type MetricDescriptor {
    name: String!
    key: String!
    "model (the output), base, ratio (output / base), delta (output - base) or setting."
    scope: String!
    label: String!
    unit: String!
    "null when neither direction is better."
    lowerIsBetter: Boolean
    family: String!
  }

  type Artifact {
    id: ID!
    kind: String!
    sha256: String!
    bytes: Float!
    model: Model
    createdAt: DateTime!
  }

  "Runs whose latest value of a catalogue metric lies in [min, max] (either bound may be left out)."
  input MetricRange {
    name: String!
    min: Float
    max: Float
  }

  input RunFilter {
    status: RunStatus
    baseModelId: ID
    createdAfter: DateTime
    "Runs with a step of this technique family (quantize, prune, lowrank, share, distill, finetune)."
    family: String
    "Runs a sweep started."
    sweepId: ID
    "Every range must hold (at most 8)."
    metrics: [MetricRange!]
  }

  type PageInfo {
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
    endCursor: String
  }

  type RunEdge {
    cursor: String!
    node: Run!
  }

  type RunConnection {
    edges: [RunEdge!]!
    pageInfo: PageInfo!
  }

  extend type Query {
    techniques: [Technique!]!
    "Every metric name a run's evaluation records, with label, unit and direction."
    metricCatalogue: [MetricDescriptor!]!
    run(id: ID!): Run!
    "Runs of a project, newest first."
    runs(projectId: ID!, filter: RunFilter, first: Int = 20, after: String): RunConnection!
  }

  extend type Mutation {
    "Validate the recipe (inline, or a saved version by recipeId: give exactly one), record the run and its steps, and queue it, all at once."
    createRun(projectId: ID!, baseModelId: ID!, recipe: JSON, recipeId: ID, seed: Int = 0, tags: [String!]): Run!
    "Cancel a queued run."
    cancelRun(id: ID!): Run!
  }
`;
