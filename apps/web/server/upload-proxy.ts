/**
 * `POST /upload` forwarded to the API as a stream with backpressure. App Router route
 * handlers cannot do this: Next 16 turns the incoming request into a web stream that
 * reads the socket as fast as the client sends, so a slower API makes the dashboard
 * hold the upload in memory (200 MB in grew the process by ~220 MB). A Pages API route
 * with the body parser off gets the raw request, and `pipeline` reads from the client
 * only as fast as the API takes the bytes.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { apiUrl } from './api-proxy';
import { crossSiteProblem, readSessionCookie } from './session-cookie';

const FORWARDED_REQUEST = ['authorization', 'content-type', 'content-length', 'x-team-id'];
const FORWARDED_RESPONSE = ['content-type', 'cache-control'];

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

function nodeHeaders(req: IncomingMessage): Headers {
  const h = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') h.set(name, value);
    else if (Array.isArray(value)) h.set(name, value.join(', '));
  }
  return h;
}

export async function proxyUpload(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') return sendError(res, 405, 'METHOD_NOT_ALLOWED', 'POST the raw bytes to /upload');
  const search = new URL(req.url ?? '/', 'http://dashboard').search;
  const headers: http.OutgoingHttpHeaders = {};
  for (const name of FORWARDED_REQUEST) {
    const v = req.headers[name];
    if (v !== undefined) headers[name] = v;
  }
  // The dashboard's own pages send the session cookie, turned into a bearer token only for
  // same-origin requests carrying the CSRF header (as proxyToApi does for /graphql).
  const incoming = { headers: nodeHeaders(req) };
  const cookieToken = readSessionCookie(incoming);
  if (headers.authorization === undefined && cookieToken) {
    const problem = crossSiteProblem(incoming);
    if (problem) return sendError(res, 403, 'CSRF_REJECTED', `the session cookie is only accepted from the dashboard's own pages (${problem})`);
    headers.authorization = `Bearer ${cookieToken}`;
  }
  const target = new URL(`${apiUrl()}/upload${search}`);
  await new Promise<void>((resolve) => {
    const upstream = http.request(target, { method: 'POST', headers }, (answer) => {
      res.statusCode = answer.statusCode ?? 502;
      for (const name of FORWARDED_RESPONSE) {
        const v = answer.headers[name];
        if (v !== undefined) res.setHeader(name, v);
      }
      pipeline(answer, res).then(resolve, () => resolve());
    });
    upstream.on('error', (e) => {
      sendError(res, 502, 'API_UNREACHABLE', `the API at ${apiUrl()} is unreachable (${e.message})`);
      resolve();
    });
    // A client that stops sending ends the upstream request too (the API then stores nothing).
    pipeline(req, upstream).catch(() => upstream.destroy());
  });
}
