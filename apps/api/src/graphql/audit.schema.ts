export const auditTypeDefs = /* GraphQL */ `
  "One mutation call (or sign-in attempt): who, in which team, what, on which ids, from where."
  type AuditEvent {
    id: ID!
    createdAt: DateTime!
    teamId: ID
    actorUserId: ID
    "session or apiToken; the credential's id, never its secret."
    credentialKind: String
    credentialId: ID
    "The mutation's name, e.g. createRun."
    action: String!
    "ok, or the error code the call was refused with (FORBIDDEN, BAD_USER_INPUT, ...)."
    outcome: String!
    targetIds: [ID!]!
    address: String
  }

  type AuditEventEdge {
    cursor: String!
    node: AuditEvent!
  }

  type AuditEventConnection {
    edges: [AuditEventEdge!]!
    pageInfo: PageInfo!
  }

  input AuditFilter {
    action: String
    actorUserId: ID
    outcome: String
    targetId: ID
    since: DateTime
    until: DateTime
  }

  extend type Query {
    "A team's audit log, newest first (owners only)."
    auditLog(teamId: ID!, filter: AuditFilter, first: Int = 50, after: String): AuditEventConnection!
  }
`;
