/**
 * ECharts with only the pieces the dashboard draws (scatter and line charts on a grid, lineage graphs,
 * sensitivity heatmaps with their colour scale, tooltips, zoom, legend, canvas renderer), registered once, so the bundle stays small.
 */
import { GraphChart, HeatmapChart, LineChart, ScatterChart } from 'echarts/charts';
import { DataZoomComponent, GridComponent, LegendComponent, MarkLineComponent, TooltipComponent, VisualMapContinuousComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { LabelLayout } from 'echarts/features';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([GraphChart, HeatmapChart, LineChart, ScatterChart, GridComponent, VisualMapContinuousComponent, TooltipComponent, DataZoomComponent, LegendComponent, MarkLineComponent, LabelLayout, CanvasRenderer]);

export { echarts };
export type { EChartsCoreOption as ChartOption, ECElementEvent } from 'echarts/core';
