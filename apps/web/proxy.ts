/**
 * Runs before every dashboard request (Next's proxy, formerly middleware): a fresh CSP
 * nonce per request, handed to Next in the request headers so it marks its scripts, and
 * the security headers on the answer.
 */
import { NextResponse, type NextRequest } from 'next/server';
import { securityHeaders } from './server/security-headers';

export function proxy(request: NextRequest): NextResponse {
  const nonce = btoa(crypto.randomUUID());
  const proto = request.headers.get('x-forwarded-proto') ?? request.nextUrl.protocol.replace(':', '');
  const headers = securityHeaders(nonce, { development: process.env.NODE_ENV === 'development', https: proto === 'https' });
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set('content-security-policy', headers['content-security-policy']!);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}

// Uploads stream through the Pages API route untouched: a proxy in front of them would make
// Next copy (and cut off at 10 MB) the request body.
export const config = {
  matcher: ['/((?!upload|api/upload|_next/static|_next/image|favicon.ico).*)'],
};
