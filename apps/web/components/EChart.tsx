'use client';
/**
 * A thin React wrapper around one ECharts instance: created on mount, given the option
 * whenever it changes, resized with its box, disposed on unmount. Clicks on data items
 * reach `onItemClick` with the item's data.
 */
import { useEffect, useRef } from 'react';
import { echarts, type ChartOption, type ECElementEvent } from './echarts-setup';

export interface EChartProps {
  option: ChartOption;
  /** Accessible name of the drawing; the data is also given as text beside it. */
  label: string;
  height?: number;
  onItemClick?: (data: unknown) => void;
  testId?: string;
}

export function EChart({ option, label, height = 300, onItemClick, testId }: EChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<ReturnType<typeof echarts.init> | null>(null);
  const clickRef = useRef(onItemClick);
  clickRef.current = onItemClick;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const instance = echarts.init(el, undefined, { renderer: 'canvas' });
    chart.current = instance;
    instance.on('click', (e: ECElementEvent) => clickRef.current?.(e.data));
    const resize = new ResizeObserver(() => instance.resize());
    resize.observe(el);
    return () => {
      resize.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption(option, { notMerge: true });
  }, [option]);

  return <div ref={box} className="echart" role="img" aria-label={label} data-testid={testId} style={{ height }} />;
}
