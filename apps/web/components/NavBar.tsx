'use client';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { clearToken } from '../client/session';

export interface Crumb {
  label: string;
  href?: string;
}

export function NavBar({ crumbs = [], email }: { crumbs?: Crumb[]; email?: string }) {
  const router = useRouter();
  return (
    <header className="topbar">
      <nav className="crumbs" aria-label="breadcrumbs">
        <Link href="/" className="brand">
          Distillery
        </Link>
        {crumbs.map((c, i) => (
          <span key={i} className="crumb">
            <span className="crumb-sep">/</span>
            {c.href ? <Link href={c.href}>{c.label}</Link> : <span>{c.label}</span>}
          </span>
        ))}
      </nav>
      <div className="topbar-right">
        {email ? <span className="muted">{email}</span> : null}
        <button
          type="button"
          className="button-link"
          onClick={() => {
            clearToken();
            router.push('/signin');
          }}
        >
          Sign out
        </button>
      </div>
    </header>
  );
}
