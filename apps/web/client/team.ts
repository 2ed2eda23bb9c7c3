/** The team page's queries and mutations (members and roles, public leaderboard opt-in, API tokens). */
export const TEAM_PAGE = `query TeamPage($id: ID!) {
  team(id: $id) { id name slug viewerRole leaderboardPublic members { userId email name role since } }
  viewer { id }
  apiTokens { id name prefix teamId createdAt lastUsedAt revokedAt }
}`;
export const SET_MEMBER_ROLE = `mutation SetMemberRole($teamId: ID!, $userId: ID!, $role: Role!) { setMemberRole(teamId: $teamId, userId: $userId, role: $role) { userId role } }`;
export const REMOVE_MEMBER = `mutation RemoveMember($teamId: ID!, $userId: ID!) { removeTeamMember(teamId: $teamId, userId: $userId) }`;
export const SET_LEADERBOARD_PUBLIC = `mutation SetLeaderboardPublic($teamId: ID!, $public: Boolean!) { setLeaderboardPublic(teamId: $teamId, public: $public) { id leaderboardPublic } }`;
// A token acts in one team: this page's.
export const CREATE_API_TOKEN = `mutation CreateApiToken($name: String!, $teamId: ID!) { createApiToken(name: $name, teamId: $teamId) { token apiToken { id } } }`;
export const REVOKE_API_TOKEN = `mutation RevokeApiToken($id: ID!) { revokeApiToken(id: $id) { id revokedAt } }`;

export type Role = 'owner' | 'member' | 'viewer';
export const ROLES: Role[] = ['owner', 'member', 'viewer'];

export interface TeamPageAnswer {
  team: { id: string; name: string; slug: string; viewerRole: Role; leaderboardPublic: boolean; members: { userId: string; email: string; name: string | null; role: Role; since: string }[] };
  viewer: { id: string };
  apiTokens: { id: string; name: string; prefix: string; teamId: string | null; createdAt: string; lastUsedAt: string | null; revokedAt: string | null }[];
}

/** A team's audit log, newest first, a page at a time (owners only). */
export const AUDIT_LOG = `query AuditLog($teamId: ID!, $first: Int, $after: String, $filter: AuditFilter) {
  auditLog(teamId: $teamId, first: $first, after: $after, filter: $filter) {
    edges { node { id createdAt actorUserId credentialKind action outcome targetIds address } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export interface AuditEvent {
  id: string;
  createdAt: string;
  actorUserId: string | null;
  credentialKind: string | null;
  action: string;
  outcome: string;
  targetIds: string[];
  address: string | null;
}

export interface AuditLogAnswer {
  auditLog: { edges: { node: AuditEvent }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}
