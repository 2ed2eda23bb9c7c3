export const ingestTypeDefs = /* GraphQL */ `
  "One metric point from your own code (a notebook's training loop)."
  input MetricPointInput {
    "Unique within the run and chosen by you (e.g. 'loss:1200'): a point whose key the run already has is skipped, so retrying a batch is safe."
    key: String!
    name: String!
    step: Int
    value: Float!
    "When it was measured; default: when it arrives."
    time: DateTime
  }

  type LogMetricsResult {
    "Points stored by this call."
    accepted: Int!
    "Points skipped because their key was already stored (a retry) or repeated in the batch."
    duplicates: Int!
  }

  "How an external run ended."
  enum ExternalRunOutcome {
    succeeded
    failed
  }

  extend type Mutation {
    """
    Record a run made outside Distillery (no recipe steps run here), so its metrics can be logged, compared and charted.
    params: the settings you want to compare and filter on (learning rate, bits, ...). The run starts in status running.
    """
    createExternalRun(projectId: ID!, baseModelId: ID!, name: String!, params: JSON): Run!
    """
    End an external run: succeeded, or failed with the error that stopped it. Subscribers see the status change;
    logMetrics refuses the run from then on. A run that already finished is refused (CONFLICT).
    """
    finishExternalRun(runId: ID!, status: ExternalRunOutcome!, error: String): Run!
    "Append up to 10,000 points (within the request body limit, API_MAX_BODY_BYTES) to an external run in one call; idempotent under retries by each point's key. Newly stored points are sent to runEvents subscribers; a finished run refuses points (CONFLICT)."
    logMetrics(runId: ID!, points: [MetricPointInput!]!): LogMetricsResult!
  }
`;
