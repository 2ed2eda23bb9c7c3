/** `/upload` (rewritten here by next.config.ts): see server/upload-proxy.ts for why this is a Pages API route. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { proxyUpload } from '../../server/upload-proxy';

export const config = { api: { bodyParser: false, responseLimit: false, externalResolver: true } };

export default function handler(req: IncomingMessage, res: ServerResponse): Promise<void> {
  return proxyUpload(req, res);
}
