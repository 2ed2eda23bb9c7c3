'use client';
/**
 * Sends visitors without a session cookie to the sign-in page; answers whether one is
 * present. The cookie is httpOnly, so the /session route says whether it was sent; an
 * expired or revoked session still gets UNAUTHENTICATED from the API (usePolling then
 * redirects too).
 */
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { hasSessionCookie } from '../client/session';

export function useSession(): boolean {
  const router = useRouter();
  const [ready, setReady] = useState(false);
  useEffect(() => {
    let alive = true;
    void hasSessionCookie().then((present) => {
      if (!alive) return;
      if (present) setReady(true);
      else router.replace('/signin');
    });
    return () => {
      alive = false;
    };
  }, [router]);
  return ready;
}
