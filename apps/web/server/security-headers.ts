/**
 * The dashboard's security headers. Scripts run only with this response's nonce (Next
 * puts it on its own script tags when it finds the nonce in the request's CSP), so an
 * injected <script> or inline handler does not run. Styles allow 'unsafe-inline'
 * because React and the chart library set style attributes, which cannot carry a nonce.
 */
export function contentSecurityPolicy(nonce: string, development: boolean): string {
  return [
    "default-src 'self'",
    // 'strict-dynamic' lets Next's nonce'd loader add its chunks; eval only for dev's hot reload.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${development ? " 'unsafe-eval'" : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' blob: data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function securityHeaders(nonce: string, opts: { development: boolean; https: boolean }): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(nonce, opts.development),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=()',
    ...(opts.https ? { 'strict-transport-security': 'max-age=31536000' } : {}),
  };
}
