/**
 * The dashboard's HTTP server: Next's request handler behind a plain Node server, so the
 * client address that the API's sign-in limits count per address is the socket's, never a
 * header the browser made up (Next alone keeps a client-sent X-Forwarded-For, and the API
 * trusts that header from the dashboard). Behind a reverse proxy that sets the header
 * itself, WEB_TRUST_PROXY=1 keeps it.
 *
 * WebSocket upgrades on /graphql (subscriptions) are relayed to the API with the session.
 *
 * WEB_PORT (3000), WEB_HOST (127.0.0.1), API_URL as for the route handlers.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import next from 'next';
import { graphqlSocketProxy } from './server/graphql-socket-proxy.mjs';

const port = Number(process.env.WEB_PORT ?? 3000);
const hostname = process.env.WEB_HOST ?? '127.0.0.1';
const trustProxy = process.env.WEB_TRUST_PROXY === '1';

// Next attaches its own upgrade listener to the server it is given (else to the first
// request's server) and ends sockets it has no route for, /graphql's included: it gets
// this stand-in, which receives only the upgrades not relayed to the API.
const nextUpgrades = new EventEmitter();
const app = next({ dev: false, dir: import.meta.dirname, hostname, port, httpServer: /** @type {any} */ (nextUpgrades) });
const handle = app.getRequestHandler();
await app.prepare();

const server = http.createServer((req, res) => {
  if (!trustProxy) req.headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
  void handle(req, res);
});
const sockets = graphqlSocketProxy(process.env.API_URL ?? 'http://127.0.0.1:4000');
server.on('upgrade', (req, socket, head) => {
  if (new URL(req.url ?? '/', 'http://dashboard').pathname === '/graphql') sockets.handleUpgrade(req, socket, head);
  else nextUpgrades.emit('upgrade', req, socket, head);
});
server.listen(port, hostname, () => console.log(`dashboard ready on http://${hostname}:${port}`));
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => {
    sockets.close();
    server.close(() => process.exit(0));
  });
