/**
 * Headers every API answer carries. The API serves JSON only, so it may forbid
 * everything a browser could do with a response: render it as HTML (nosniff, a CSP of
 * `default-src 'none'`), frame it, or leak the URL in a Referer.
 */
import type { NextFunction, Request, Response } from 'express';

export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * `landingPage`: the development landing page at GET /graphql is an HTML app that
 * loads its scripts from Apollo's CDN, so the strict CSP is left off that one answer.
 */
export function securityHeaders(opts: { landingPage: boolean }) {
  return (req: Request, res: Response, next: NextFunction): void => {
    for (const [name, value] of Object.entries(API_SECURITY_HEADERS)) {
      const landing = opts.landingPage && req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
      res.setHeader(name, landing && name === 'content-security-policy' ? "frame-ancestors 'none'" : value);
    }
    next();
  };
}
