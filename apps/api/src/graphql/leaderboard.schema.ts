export const leaderboardTypeDefs = /* GraphQL */ `
  "TEAM: one team's runs. PUBLIC: runs of every team that opted in (Team.leaderboardPublic)."
  enum LeaderboardScope {
    TEAM
    PUBLIC
  }

  input LeaderboardFilter {
    "Only outputs at most this large on disk (size.bytes)."
    maxSizeBytes: Float
    "Only outputs decoding a token in at most this many ms at p50 (latency.decodeMs.p50)."
    maxDecodeMsP50: Float
    "Only runs with a step of this technique family (quantize, prune, lowrank, share, distill, finetune)."
    techniqueFamily: String
  }

  type LeaderboardEntry {
    rank: Int!
    runId: ID!
    value: Float!
    teamId: ID!
    teamName: String!
    projectName: String!
    "Technique ids of the run's steps, in order."
    techniques: [String!]!
    sizeBytes: Float
    decodeMsP50: Float
    "The run itself, when you may read it (your own team's runs)."
    run: Run
  }

  type Leaderboard {
    suite: String!
    suiteVersion: Int!
    metric: MetricAxis!
    scope: LeaderboardScope!
    entries: [LeaderboardEntry!]!
  }

  extend type Query {
    """
    Succeeded runs ranked by one metric's final value, best first. Only runs scored with the same evaluation
    suite and version are ranked together. TEAM scope needs teamId (you must belong to it).
    """
    leaderboard(
      metric: String!
      scope: LeaderboardScope!
      teamId: ID
      suite: String = "distillery-standard"
      suiteVersion: Int!
      filter: LeaderboardFilter
      first: Int = 20
    ): Leaderboard!
  }

  extend type Team {
    "Whether the team's runs appear on public leaderboards."
    leaderboardPublic: Boolean!
  }

  extend type Mutation {
    "Opt the team's runs in to (or out of) public leaderboards (owner only)."
    setLeaderboardPublic(teamId: ID!, public: Boolean!): Team!
  }
`;
