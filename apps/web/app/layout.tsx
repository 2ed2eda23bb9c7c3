import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import './globals.css';

// Rendered per request: each page carries the nonce of its own Content-Security-Policy (proxy.ts).
export const dynamic = 'force-dynamic';

export const metadata: Metadata = {
  title: 'Distillery',
  description: 'Compress language models and compare the results.',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
