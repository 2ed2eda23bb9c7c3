'use client';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { signOut } from '../client/session';

export interface Crumb {
  label: string;
  href?: string;
}

export function NavBar({ crumbs = [], email }: { crumbs?: Crumb[]; email?: string }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  return (
    <header className="topbar">
      <nav className="crumbs" aria-label="breadcrumbs">
        <Link href="/" className="brand" prefetch={false}>
          Distillery
        </Link>
        {crumbs.map((c, i) => (
          <span key={i} className="crumb">
            <span className="crumb-sep">/</span>
            {c.href ? (
              <Link href={c.href} prefetch={false}>
                {c.label}
              </Link>
            ) : (
              <span>{c.label}</span>
            )}
          </span>
        ))}
      </nav>
      <div className="topbar-right">
        {email ? <span className="muted">{email}</span> : null}
        {error ? <span className="error">{error}</span> : null}
        <button
          type="button"
          className="button-link"
          onClick={async () => {
            try {
              // Ends the session on the server, not just in this browser.
              await signOut();
              router.push('/signin');
            } catch (e) {
              setError(`sign-out failed: ${(e as Error).message}`);
            }
          }}
        >
          Sign out
        </button>
      </div>
    </header>
  );
}
