export const compareTypeDefs = /* GraphQL */ `
  "Runs side by side: aligned metrics with differences, the recipe settings that differ, and metric series to overlay."
  type RunComparison {
    "The runs in the order asked for."
    runs: [Run!]!
    "The reference run, when one was chosen; otherwise each run is compared with its own base model."
    baseline: Run
    "One row per metric any run recorded (latest values): catalogue metrics first, then steps' own figures."
    metrics: [ComparedMetric!]!
    "Recipe settings (leaf paths such as steps[0].params.bits) whose values are not the same in every run."
    recipeDiff: [RecipeDifference!]!
    "Every point of the named metrics, per run, for overlaid charts (at most maxPoints per run and name, evenly thinned)."
    series(names: [String!]!, maxPoints: Int = 500): [ComparedSeries!]!
  }

  type ComparedMetric {
    name: String!
    label: String
    unit: String
    lowerIsBetter: Boolean
    family: String
    "One cell per run, in the order of RunComparison.runs."
    cells: [ComparedCell!]!
  }

  type ComparedCell {
    runId: ID!
    value: Float
    "The baseline run's value, or the run's base model's value of the same figure."
    reference: Float
    "value - reference"
    delta: Float
    "value / reference"
    ratio: Float
    "Whether the difference is an improvement in the metric's direction; null when unknown or equal."
    better: Boolean
  }

  type RecipeDifference {
    path: String!
    "One value per run, in the order of RunComparison.runs; null where the run's recipe has no such setting."
    values: [JSON]!
  }

  type ComparedSeries {
    runId: ID!
    name: String!
    points: [SeriesPoint!]!
  }

  type SeriesPoint {
    step: Int
    value: Float!
    createdAt: DateTime!
  }

  "One axis of a Pareto chart."
  type MetricAxis {
    name: String!
    label: String
    unit: String
    lowerIsBetter: Boolean!
  }

  type ParetoPoint {
    "The run (read per answer with one query; a chart of many runs asks only runId, baseModelId and recipe)."
    run: Run!
    runId: ID!
    baseModelId: ID!
    "The run's recipe (a chart's label), read for every point of the answer in one query."
    recipe: JSON!
    x: Float!
    y: Float!
  }

  type DominatedRun {
    run: Run!
    runId: ID!
    baseModelId: ID!
    recipe: JSON!
    x: Float!
    y: Float!
    "Frontier runs that are no worse on both metrics and better on one (listed only when asked: the count is cheaper)."
    dominatedBy: [ID!]!
    "How many frontier runs dominate this one (at least 1)."
    dominatedByCount: Int!
  }

  type ParetoFront {
    x: MetricAxis!
    y: MetricAxis!
    "Runs no other run beats on both metrics, from the best x to the worst."
    frontier: [ParetoPoint!]!
    dominated: [DominatedRun!]!
    "Runs left out because they lack one of the two metrics."
    missing: Int!
  }

  extend type Query {
    "Compare 2 to 200 runs of your teams; baseline: a run to measure every other against."
    compareRuns(ids: [ID!]!, baseline: ID): RunComparison!
    """
    The Pareto frontier of a project's or a sweep's runs (give exactly one) on two metrics (their latest values). Directions come from the
    metric catalogue; for other names (an external run's own metrics) give xLowerIsBetter / yLowerIsBetter.
    suiteVersion keeps only runs scored with that evaluation suite version, so figures of different suites are not mixed.
    runIds keeps only those runs of the project or sweep (a comparison's trade-off; at most 200).
    filter keeps only the runs the runs list shows with the same filter (runs(projectId:, filter:)).
    """
    pareto(projectId: ID, sweepId: ID, x: String!, y: String!, suiteVersion: Int, xLowerIsBetter: Boolean, yLowerIsBetter: Boolean, runIds: [ID!], filter: RunFilter): ParetoFront!
  }
`;
