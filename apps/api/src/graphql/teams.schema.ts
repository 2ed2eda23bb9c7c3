export const teamsTypeDefs = /* GraphQL */ `
  enum Role {
    "Manages members; everything a member can do."
    owner
    "Creates projects, imports models, starts and cancels runs."
    member
    "Reads everything in the team; changes nothing."
    viewer
  }

  type Team {
    id: ID!
    name: String!
    slug: String!
    createdAt: DateTime!
    "Your role in this team."
    viewerRole: Role!
    members: [TeamMember!]!
    projects: [Project!]!
  }

  type TeamMember {
    userId: ID!
    email: String!
    name: String
    role: Role!
    since: DateTime!
  }

  type TeamMembership {
    team: Team!
    role: Role!
  }

  extend type Query {
    "Teams you belong to (through an API token: only its team)."
    teams: [Team!]!
    "A team's members, oldest first (any role may read them)."
    teamMembers(teamId: ID!): [TeamMember!]!
    team(id: ID!): Team!
  }

  extend type Mutation {
    "Create a team; you become its owner."
    createTeam(name: String!, slug: String): Team!
    "Change a member's role (owner only). New members join by accepting an invitation (inviteMember)."
    setMemberRole(teamId: ID!, userId: ID!, role: Role!): TeamMember!
    "Remove a member (owner only); the last owner cannot be removed."
    removeTeamMember(teamId: ID!, userId: ID!): Boolean!
    "Leave a team yourself (any role); the last owner must hand ownership on first."
    leaveTeam(teamId: ID!): Boolean!
  }
`;
