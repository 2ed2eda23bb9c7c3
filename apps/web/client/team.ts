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
