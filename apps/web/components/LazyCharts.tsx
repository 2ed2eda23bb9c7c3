'use client';
/**
 * The chart components loaded on demand: ECharts is the largest script of the dashboard,
 * so pages become usable (tables, forms) before it has arrived and been parsed.
 */
import dynamic from 'next/dynamic';
import { PageState } from './PageState';

const placeholder = () => <PageState what="chart" loading testId="chart" />;

export const TradeoffChart = dynamic(() => import('./TradeoffChart').then((m) => m.TradeoffChart), { ssr: false, loading: placeholder });
export const LineChart = dynamic(() => import('./LineChart').then((m) => m.LineChart), { ssr: false, loading: placeholder });
export const LineageGraph = dynamic(() => import('./LineageGraph').then((m) => m.LineageGraph), { ssr: false, loading: placeholder });
export const SweepFrontChart = dynamic(() => import('./SweepFrontChart').then((m) => m.SweepFrontChart), { ssr: false, loading: placeholder });
export const SensitivityHeatmap = dynamic(() => import('./SensitivityHeatmap').then((m) => m.SensitivityHeatmap), { ssr: false, loading: placeholder });
