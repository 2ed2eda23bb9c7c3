/**
 * `distillery login`: signs in with email and password, creates a named API token with that
 * session for one team (--team, or the account's only team), ends the session, and stores
 * the token (mode 0600). The password comes from
 * --password-stdin, DISTILLERY_PASSWORD, or a prompt without echo on a terminal.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { graphql } from '@distillery/services';
import { AuthError } from './auth-error';
import { credentialsFile, DEFAULT_API_URL, readCredentials, trimUrl, writeCredentials } from './credentials';
import { readHidden, readStdin } from './terminal-input';
import { UsageError } from './usage-error';

export async function loginCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { email: { type: 'string' }, 'password-stdin': { type: 'boolean' }, 'api-url': { type: 'string' }, name: { type: 'string' }, team: { type: 'string' } },
  });
  if (positionals.length) throw new UsageError(`login takes no positional arguments, got ${positionals.join(' ')}`);
  const email = values.email ?? process.env.DISTILLERY_EMAIL;
  if (!email) throw new UsageError('login needs --email (or DISTILLERY_EMAIL)');
  const stored = await readCredentials().catch(() => null);
  const apiUrl = trimUrl(values['api-url'] ?? process.env.DISTILLERY_API_URL ?? stored?.apiUrl ?? DEFAULT_API_URL);
  let password: string;
  if (values['password-stdin']) password = (await readStdin()).replace(/\r?\n$/, '');
  else if (process.env.DISTILLERY_PASSWORD) password = process.env.DISTILLERY_PASSWORD;
  else if (process.stdin.isTTY) password = await readHidden(`password for ${email}: `);
  else throw new UsageError('no password: give --password-stdin, set DISTILLERY_PASSWORD, or run in a terminal');
  if (!password) throw new UsageError('the password is empty');

  const url = `${apiUrl}/graphql`;
  const session = await graphql<{ signIn: { token: string } }>(url, 'mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }', { e: email, p: password }).catch(
    (error: unknown) => {
      if (error instanceof TypeError) throw new Error(`cannot reach the API at ${apiUrl}: ${(error.cause as Error | undefined)?.message ?? error.message}`);
      throw new AuthError(`sign-in as ${email} refused: ${(error as Error).message}`);
    },
  );
  const sessionToken = session.signIn.token;
  const tokenName = values.name ?? `cli ${os.userInfo().username}@${os.hostname()}`;
  // API tokens act in one team: the one named, or the only one the account belongs to.
  const { teams } = await graphql<{ teams: { id: string; name: string }[] }>(url, '{ teams { id name } }', {}, sessionToken);
  const wanted = values.team ?? process.env.DISTILLERY_TEAM;
  const team = wanted === undefined ? (teams.length === 1 ? teams[0] : undefined) : teams.find((t) => t.id === wanted || t.name === wanted);
  if (!team) {
    await graphql(url, 'mutation { signOut }', {}, sessionToken).catch(() => undefined);
    const names = teams.map((t) => `"${t.name}"`).join(', ') || 'none';
    if (wanted !== undefined) throw new UsageError(`no team "${wanted}" among this account's teams (${names})`);
    throw new UsageError(teams.length ? `this account is in several teams (${names}): choose one with --team` : 'this account is in no team yet: create or join one first');
  }
  const created = await graphql<{ createApiToken: { token: string; apiToken: { id: string; prefix: string } } }>(
    url,
    'mutation($n: String!, $t: ID!) { createApiToken(name: $n, teamId: $t) { token apiToken { id prefix } } }',
    { n: tokenName, t: team.id },
    sessionToken,
  );
  // The API token is what stays on disk; the password session is not needed any more.
  await graphql(url, 'mutation { signOut }', {}, sessionToken).catch(() => undefined);
  const file = credentialsFile();
  await writeCredentials({ apiUrl, token: created.createApiToken.token, email, tokenId: created.createApiToken.apiToken.id }, file);
  print(`signed in as ${email} at ${apiUrl}; API token "${tokenName}" for team "${team.name}" (${created.createApiToken.apiToken.prefix}...) stored in ${file}`);
}
