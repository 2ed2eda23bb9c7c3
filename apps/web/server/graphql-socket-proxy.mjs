/**
 * GraphQL subscriptions through the dashboard: browsers open a graphql-ws socket on the
 * dashboard's own /graphql, and each is relayed to the API's, with the session cookie
 * (which page scripts cannot read) put into the connection_init payload as the bearer
 * token the API authenticates sockets with. Upgrades from other sites' pages, or without
 * a session, are refused before any socket is opened.
 */
import { WebSocket, WebSocketServer } from 'ws';
import { crossSiteSocketProblem, readSessionCookieHeader } from './session-cookie-read.mjs';

const PROTOCOL = 'graphql-transport-ws';
/** The API refuses bigger frames too; refusing here spares the relay. */
const MAX_FRAME_BYTES = 64 * 1024;

/** @param {import('node:http').IncomingHttpHeaders} raw */
function headersOf(raw) {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

/** Close codes a peer may send on (1005/1006 only describe what happened locally). */
function sendableCode(code) {
  return code === 1000 || (code >= 3000 && code <= 4999) || (code >= 1001 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ? code : 1011;
}

/**
 * The connection_init message with the session's bearer token as its only credential;
 * anything else passes unchanged.
 * @param {string} text @param {string} token
 */
export function withSessionToken(text, token) {
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return text;
  }
  if (!message || message.type !== 'connection_init') return text;
  const { token: _t, Authorization: _a, authorization: _b, ...rest } = message.payload && typeof message.payload === 'object' ? message.payload : {};
  return JSON.stringify({ ...message, payload: { ...rest, authorization: `Bearer ${token}` } });
}

/** @param {string} apiUrl e.g. http://127.0.0.1:4000 */
export function graphqlSocketProxy(apiUrl) {
  const upstreamUrl = `${apiUrl.replace(/\/+$/, '').replace(/^http/, 'ws')}/graphql`;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, handleProtocols: (protocols) => (protocols.has(PROTOCOL) ? PROTOCOL : false) });

  /** @param {WebSocket} client @param {string} token */
  function relay(client, token) {
    const upstream = new WebSocket(upstreamUrl, PROTOCOL, { maxPayload: 16 * 1024 * 1024 });
    /** @type {[string | Buffer, boolean][]} */
    const pending = [];
    let first = true;
    client.on('message', (data, isBinary) => {
      // graphql-ws sends connection_init first; only that message carries credentials.
      const out = first && !isBinary ? withSessionToken(data.toString(), token) : data;
      first = false;
      if (upstream.readyState === WebSocket.OPEN) upstream.send(out, { binary: isBinary });
      else pending.push([out, isBinary]);
    });
    upstream.on('open', () => {
      for (const [out, isBinary] of pending.splice(0)) upstream.send(out, { binary: isBinary });
    });
    upstream.on('message', (data, isBinary) => {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    });
    upstream.on('close', (code, reason) => client.close(sendableCode(code), reason));
    upstream.on('error', () => client.close(1011, 'the API is unreachable'));
    client.on('close', (code, reason) => {
      if (upstream.readyState === WebSocket.CONNECTING) upstream.terminate();
      else upstream.close(sendableCode(code), reason);
    });
    client.on('error', () => upstream.terminate());
  }

  return {
    /** @param {import('node:http').IncomingMessage} req @param {import('node:stream').Duplex} socket @param {Buffer} head */
    handleUpgrade(req, socket, head) {
      const headers = headersOf(req.headers);
      const problem = crossSiteSocketProblem(headers) ?? (readSessionCookieHeader(headers) ? null : 'there is no session');
      if (problem) {
        socket.end(`HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nsubscriptions need a session from the dashboard's own pages (${problem})`);
        return;
      }
      const token = /** @type {string} */ (readSessionCookieHeader(headers));
      wss.handleUpgrade(req, socket, head, (client) => relay(client, token));
    },
    close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}
