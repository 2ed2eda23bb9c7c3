export const lineageTypeDefs = /* GraphQL */ `
  enum LineageNodeKind {
    MODEL
    RUN
  }

  "BASE_OF: model -> run using it as base; PRODUCED: run -> model it made; PARENT_OF: model -> model derived from it."
  enum LineageEdgeKind {
    BASE_OF
    PRODUCED
    PARENT_OF
  }

  type LineageNode {
    id: ID!
    kind: LineageNodeKind!
    "The model's name, or the run's techniques joined by ' + '."
    label: String!
    "A model's status (importing, ready, failed) or a run's (queued ... canceled)."
    status: String!
    model: Model
    run: Run
  }

  type LineageEdge {
    from: ID!
    to: ID!
    kind: LineageEdgeKind!
  }

  type Lineage {
    nodes: [LineageNode!]!
    edges: [LineageEdge!]!
    "True when the graph was cut at its size limit."
    truncated: Boolean!
  }

  extend type Query {
    "The lineage graph of a model (its whole family in the team) or of a project; give exactly one of the two."
    lineage(modelId: ID, projectId: ID): Lineage!
  }
`;
