import { proxyToApi } from '../../server/api-proxy';

export const dynamic = 'force-dynamic';

export function POST(request: Request): Promise<Response> {
  return proxyToApi(request, '/graphql');
}

export function GET(request: Request): Promise<Response> {
  const { search } = new URL(request.url);
  return proxyToApi(request, `/graphql${search}`);
}
