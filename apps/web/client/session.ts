/**
 * The bearer token from sign-in, kept in localStorage (the dashboard renders on the
 * client, and the API reads only the Authorization header, never a cookie).
 */
const KEY = 'distillery.token';

export function getToken(): string | null {
  if (typeof window === 'undefined') return null;
  return window.localStorage.getItem(KEY);
}

export function setToken(token: string): void {
  window.localStorage.setItem(KEY, token);
}

export function clearToken(): void {
  window.localStorage.removeItem(KEY);
}
