'use client';
/** The lineage drawn as an ECharts graph; clicking a run opens it. */
import { useRouter } from 'next/navigation';
import { useMemo } from 'react';
import { layoutLineage, lineageOption, type LineageGraph as Graph } from '../client/lineage';
import { EChart } from './EChart';

export function LineageGraph({ graph }: { graph: Graph }) {
  const router = useRouter();
  const option = useMemo(() => lineageOption(layoutLineage(graph), graph.edges), [graph]);
  const rows = Math.max(1, ...layoutLineage(graph).map((n) => n.row + 1));
  return (
    <EChart
      option={option}
      label="Lineage graph: base models, the runs that used them and the models they produced"
      height={Math.min(640, 120 + rows * 70)}
      testId="lineage-chart"
      onItemClick={(d) => {
        const item = d as { id?: string; kind?: string } | undefined;
        if (item?.kind === 'RUN' && item.id) router.push(`/runs/${item.id}`);
      }}
    />
  );
}
