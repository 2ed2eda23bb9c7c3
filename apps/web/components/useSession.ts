'use client';
/** Sends visitors without a token to the sign-in page; answers whether one is present. */
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { getToken } from '../client/session';

export function useSession(): boolean {
  const router = useRouter();
  const [ready, setReady] = useState(false);
  useEffect(() => {
    if (getToken()) setReady(true);
    else router.replace('/signin');
  }, [router]);
  return ready;
}
