export const runLabelsTypeDefs = /* GraphQL */ `
  "A step parameter to match: runs with a step whose params hold this value at this dotted path."
  input ParamFilter {
    "Dotted path into a step's params, e.g. \\"bits\\" or \\"student.layers\\"."
    path: String!
    "The JSON value the parameter must equal (objects match when they contain these keys)."
    equals: JSON!
    "Only steps of this technique."
    technique: String
  }

  extend input RunFilter {
    "Runs carrying every one of these tags."
    tags: [String!]
    param: ParamFilter
  }

  extend type Run {
    tags: [String!]!
  }

  extend type Mutation {
    "Replace a run's tags (at most 32, each 1-64 characters)."
    setRunTags(runId: ID!, tags: [String!]!): Run!
  }
`;
