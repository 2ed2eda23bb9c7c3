export const runEventsTypeDefs = /* GraphQL */ `
  enum RunEventKind {
    "The run's status changed (from -> status)."
    status
    "A step's status changed."
    step
    progress
    "Metric points were recorded (while a step trains, and the run's record at its end)."
    metrics
    "The run produced a model (modelId)."
    model
    "Cancellation was requested; the status changes once the worker has stopped."
    cancelRequested
  }

  type MetricPoint {
    name: String!
    value: Float!
    step: Int
    runStepId: ID
  }

  "Something that happened to a run, as it happened. Large data is read through run(id)."
  type RunEvent {
    "Place in commit order across all runs (a decimal integer): each event is delivered once, in this order."
    seq: String!
    kind: RunEventKind!
    runId: ID!
    projectId: ID!
    at: DateTime!
    "For status events: the previous status (null when the run was created)."
    from: RunStatus
    "The run's new status (status events) or the step's (step events)."
    status: RunStatus
    message: String
    stepId: ID
    stepIndex: Int
    progress: Float
    points: [MetricPoint!]
    modelId: ID
  }

  type Subscription {
    "Events of one run."
    runEvents(runId: ID!): RunEvent!
    "Events of every run of a project."
    projectRunEvents(projectId: ID!): RunEvent!
  }
`;
