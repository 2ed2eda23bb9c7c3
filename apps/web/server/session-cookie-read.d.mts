export declare const SESSION_COOKIE: 'distillery_session';
export declare function readSessionCookieHeader(headers: { get(name: string): string | null }): string | null;
export declare function crossSiteSocketProblem(headers: { get(name: string): string | null }): string | null;
