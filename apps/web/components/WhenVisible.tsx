'use client';
/**
 * Renders its children once their place on the page scrolls near the viewport, so heavy
 * parts below the fold (charts) do not compete with what the reader sees first.
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';

export function WhenVisible({ children, minHeight = 200 }: { children: ReactNode; minHeight?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const [shown, setShown] = useState(false);
  useEffect(() => {
    const el = box.current;
    if (!el || shown) return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        setShown(true);
        io.disconnect();
      }
    }, { rootMargin: '200px' });
    io.observe(el);
    return () => io.disconnect();
  }, [shown]);
  return <div ref={box} style={shown ? undefined : { minHeight }}>{shown ? children : null}</div>;
}
