export const authTypeDefs = /* GraphQL */ `
  "The signed-in user (only ever yourself)."
  type User {
    id: ID!
    email: String!
    name: String
    createdAt: DateTime!
    memberships: [TeamMembership!]!
  }

  "A bearer token; the secret itself is shown only once, when created."
  type ApiToken {
    id: ID!
    name: String!
    "The first characters of the secret, to tell tokens apart."
    prefix: String!
    createdAt: DateTime!
    lastUsedAt: DateTime
    revokedAt: DateTime
  }

  type AuthPayload {
    "Send as 'Authorization: Bearer <token>'. Shown once; only its hash is stored."
    token: String!
    apiToken: ApiToken!
    user: User!
  }

  type CreatedApiToken {
    "Shown once; only its hash is stored."
    token: String!
    apiToken: ApiToken!
  }

  extend type Query {
    viewer: User!
    apiTokens: [ApiToken!]!
  }

  type Mutation {
    signUp(email: String!, password: String!, name: String): AuthPayload!
    signIn(email: String!, password: String!): AuthPayload!
    createApiToken(name: String!): CreatedApiToken!
    revokeApiToken(id: ID!): ApiToken!
  }
`;
