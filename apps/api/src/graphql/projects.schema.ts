export const projectsTypeDefs = /* GraphQL */ `
  type Project {
    id: ID!
    team: Team!
    name: String!
    description: String
    createdAt: DateTime!
    "Models of this project, plus the team's models shared across projects."
    models: [Model!]!
  }

  extend type Query {
    projects(teamId: ID!): [Project!]!
    project(id: ID!): Project!
  }

  extend type Mutation {
    createProject(teamId: ID!, name: String!, description: String): Project!
  }
`;
