import { proxyToApi } from '../../server/api-proxy';

export const dynamic = 'force-dynamic';

export function POST(request: Request): Promise<Response> {
  return proxyToApi(request, '/upload');
}
