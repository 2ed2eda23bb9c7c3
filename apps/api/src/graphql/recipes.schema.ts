export const recipesTypeDefs = /* GraphQL */ `
  "A saved recipe version of a team: steps, calibration and evaluation suite settings, usable with any base model."
  type SavedRecipe {
    id: ID!
    name: String!
    version: Int!
    recipe: JSON!
    description: String
    createdAt: DateTime!
  }

  enum SweepMode {
    "Every combination of the parameters' values, in order."
    grid
    "Seeded random draws (values lists or numeric ranges)."
    random
    "Pareto local search toward the frontier of two metrics (objective), within maxRuns."
    pareto
  }

  enum SweepStatus {
    active
    "Canceled while runs of it were running: no run starts any more; canceled once they have stopped."
    canceling
    done
    canceled
  }

  type Sweep {
    id: ID!
    name: String!
    mode: SweepMode!
    status: SweepStatus!
    "Why the sweep stopped early, when it did."
    note: String
    recipe: JSON!
    space: JSON!
    maxRuns: Int!
    parallelism: Int!
    objective: JSON
    seed: Int!
    createdAt: DateTime!
    project: Project!
    baseModel: Model!
    runs: [Run!]!
  }

  extend type Run {
    "The saved recipe version the run was started from (createRun with recipeId)."
    savedRecipeId: ID
    "The sweep that started the run."
    sweepId: ID
  }

  input SweepObjectiveInput {
    x: String!
    y: String!
    "Needed only for metrics outside the catalogue."
    xLowerIsBetter: Boolean
    yLowerIsBetter: Boolean
  }

  "JSON Schemas of a recipe's settings besides its steps (input side, defaults marked), for building forms."
  type RecipeSettingsSchemas {
    "recipe.eval: how the result is evaluated (tokens scored, tasks, latency, per-layer sensitivity)."
    eval: JSON!
    "recipe.calibration: the text the steps calibrate on."
    calibration: JSON!
  }

  extend type Query {
    recipeSettingsSchemas: RecipeSettingsSchemas!
    "The latest version of each saved recipe of the team (or every version of one name)."
    recipes(teamId: ID!, name: String): [SavedRecipe!]!
    sweep(id: ID!): Sweep!
    sweeps(projectId: ID!): [Sweep!]!
  }

  extend type Mutation {
    "Save a recipe under a name: a new version when the content differs from the latest one, otherwise the latest one."
    saveRecipe(teamId: ID!, name: String!, recipe: JSON!, description: String): SavedRecipe!
    """
    Start a sweep over recipe settings. space: [{path: "steps[0].params.bits", values: [2, 3, 4]}, ...]
    (random mode also takes {path, min, max, log, integer}). Runs start up to parallelism at a time, maxRuns in all;
    pareto mode needs objective and searches toward the frontier of its two metrics.
    """
    createSweep(
      projectId: ID!
      baseModelId: ID!
      name: String!
      mode: SweepMode!
      recipe: JSON
      recipeId: ID
      space: JSON!
      maxRuns: Int!
      parallelism: Int = 2
      objective: SweepObjectiveInput
      seed: Int = 0
    ): Sweep!
    "Cancel a sweep: its queued runs are canceled, its running runs asked to stop (as cancelRun does), and no run starts any more. The sweep is canceling until its last run has stopped, then canceled."
    cancelSweep(id: ID!): Sweep!
  }
`;
