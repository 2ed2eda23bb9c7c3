export const reproductionTypeDefs = /* GraphQL */ `
  enum ReproductionVerdict {
    "The re-run has not finished."
    pending
    "Every compared metric is within its tolerance."
    reproduced
    "At least one metric is outside its tolerance, or recorded by only one of the runs."
    differs
    "The re-run failed or was canceled."
    rerunFailed
  }

  "One metric point of a run and its re-run."
  type MetricReproduction {
    name: String!
    "Position in a series (training step); null for single values."
    step: Int
    original: Float
    rerun: Float
    "exact, relative or notCompared."
    toleranceKind: String!
    "The relative tolerance, for toleranceKind relative."
    relativeTolerance: Float
    "Why a metric is not compared (timings, memory)."
    reason: String
    "null when not compared."
    withinTolerance: Boolean
  }

  type Reproduction {
    original: Run!
    rerun: Run!
    verdict: ReproductionVerdict!
    "Both runs used the same thread layout (1e-6 relative tolerance for arithmetic; 1e-3 otherwise)."
    sameThreads: Boolean!
    "Differences of conditions worth knowing (code version, ORT version)."
    notes: [String!]!
    compared: Int!
    outside: Int!
    metrics: [MetricReproduction!]!
  }

  extend type Run {
    "What the result depends on besides the recipe: base model, tokenizer, recipe, data split and calibration hashes, seed, code and ORT versions, thread layout."
    provenance: JSON
    "The run this one re-runs (reproduce)."
    reproductionOf: Run
    "Re-runs of this run."
    reproductions: [Run!]!
    "For a re-run: metric by metric, whether it reproduced the original within tolerance."
    reproduction: Reproduction
  }

  extend type Mutation {
    "Queue a new run with the inputs of a succeeded run (base model, recipe with its seeds, run seed); its reproduction field compares the two once it finishes."
    reproduce(runId: ID!): Run!
  }
`;
