export const invitationsTypeDefs = /* GraphQL */ `
  enum InvitationStatus {
    pending
    accepted
    declined
    revoked
  }

  "An offer of team membership to an email address; membership exists only once its owner accepts."
  type Invitation {
    id: ID!
    teamId: ID!
    teamName: String!
    email: String!
    role: Role!
    status: InvitationStatus!
    "Email of the owner who sent it, when that user still exists."
    invitedBy: String
    createdAt: DateTime!
    expiresAt: DateTime!
  }

  extend type Query {
    "Pending invitations addressed to your email."
    invitations: [Invitation!]!
    "Pending invitations of a team (owner only)."
    teamInvitations(teamId: ID!): [Invitation!]!
  }

  extend type Mutation {
    """
    Invite an email address into a team (owner only). The answer is the same whether or not the
    address is registered; inviting it again replaces the pending invitation's role.
    """
    inviteMember(teamId: ID!, email: String!, role: Role! = member): Invitation!
    "Withdraw a pending invitation (owner only)."
    revokeInvitation(id: ID!): Invitation!
    "Accept an invitation addressed to you: you become a member with its role."
    acceptInvitation(id: ID!): TeamMembership!
    declineInvitation(id: ID!): Invitation!
  }
`;
