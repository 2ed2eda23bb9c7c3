export const authTypeDefs = /* GraphQL */ `
  "The signed-in user (only ever yourself)."
  type User {
    id: ID!
    email: String!
    name: String
    createdAt: DateTime!
    memberships: [TeamMembership!]!
  }

  "A named bearer token for notebooks and scripts; the secret itself is shown only once, when created."
  type ApiToken {
    id: ID!
    name: String!
    "The one team the token acts in, with its user's role there."
    teamId: ID!
    "After this the token stops working; null: until revoked."
    expiresAt: DateTime
    "The first characters of the secret, to tell tokens apart."
    prefix: String!
    createdAt: DateTime!
    lastUsedAt: DateTime
    revokedAt: DateTime
  }

  "A sign-in: a browser or client that called signIn. Ends at signOut, when idle too long, or at its absolute expiry."
  type Session {
    id: ID!
    createdAt: DateTime!
    lastSeenAt: DateTime!
    "When the session ends unless used again: the idle limit or the absolute expiry, whichever comes first."
    expiresAt: DateTime!
    userAgent: String
    "The client address at sign-in."
    address: String
    revokedAt: DateTime
    "Whether this request is authenticated with this session."
    current: Boolean!
  }

  type AuthPayload {
    "Send as 'Authorization: Bearer <token>'. Shown once; only its hash is stored."
    token: String!
    session: Session!
    user: User!
  }

  "The same answer whether or not the address was registered before, so sign-up reveals nothing."
  type SignUpPayload {
    message: String!
  }

  type CreatedApiToken {
    "Shown once; only its hash is stored."
    token: String!
    apiToken: ApiToken!
  }

  extend type Query {
    viewer: User!
    "Your API tokens, newest first (through an API token: only those of its team)."
    apiTokens: [ApiToken!]!
    "Your sessions that have not ended, most recently used first."
    sessions: [Session!]!
  }

  type Mutation {
    "Register an address. Then sign in: that works with this password only if the address was new."
    signUp(email: String!, password: String!, name: String): SignUpPayload!
    "Start a session. Repeated failures lock the account and the address out for a while (TOO_MANY_ATTEMPTS)."
    signIn(email: String!, password: String!): AuthPayload!
    "End the session this request is authenticated with."
    signOut: Boolean!
    "End one of your sessions."
    revokeSession(id: ID!): Session!
    "A token for scripts that acts only in teamId, until expiresAt (if given) or revokeApiToken."
    createApiToken(name: String!, teamId: ID!, expiresAt: DateTime): CreatedApiToken!
    revokeApiToken(id: ID!): ApiToken!
  }
`;
