'use client';
/**
 * Renders its children once their place on the page scrolls near the viewport (within
 * `ahead` px below it), so heavy parts below the fold (charts) do not compete with what
 * the reader sees first. `ready` holds the watch back until the content above has its
 * final height (a list still loading would otherwise leave the box in view for a moment
 * and start it at once).
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';

export interface WhenVisibleProps {
  children: ReactNode;
  minHeight?: number;
  ready?: boolean;
  ahead?: number;
  testId?: string;
}

export function WhenVisible({ children, minHeight = 200, ready = true, ahead = 200, testId }: WhenVisibleProps) {
  const box = useRef<HTMLDivElement>(null);
  const [shown, setShown] = useState(false);
  useEffect(() => {
    const el = box.current;
    if (!el || shown || !ready) return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        setShown(true);
        io.disconnect();
      }
    }, { rootMargin: `${ahead}px` });
    io.observe(el);
    return () => io.disconnect();
  }, [shown, ready, ahead]);
  return (
    <div ref={box} style={shown ? undefined : { minHeight }} data-testid={testId} data-shown={shown ? 'yes' : 'no'}>
      {shown ? children : null}
    </div>
  );
}
