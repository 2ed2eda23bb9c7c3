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
    "Teams you belong to."
    teams: [Team!]!
    team(id: ID!): Team!
  }

  extend type Mutation {
    "Create a team; you become its owner."
    createTeam(name: String!, slug: String): Team!
    "Add a registered user by email, or change the role of an existing member (owner only)."
    addTeamMember(teamId: ID!, email: String!, role: Role! = member): TeamMember!
    removeTeamMember(teamId: ID!, userId: ID!): Boolean!
  }
`;
