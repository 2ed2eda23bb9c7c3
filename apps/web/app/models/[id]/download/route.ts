import { proxyDownload } from '../../../../server/download-proxy';

export const dynamic = 'force-dynamic';

export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  return proxyDownload(request, (await params).id);
}
