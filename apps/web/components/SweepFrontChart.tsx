'use client';
/** A sweep's runs on two metrics with the Pareto frontier; clicking a point opens its run. */
import { useRouter } from 'next/navigation';
import { useMemo } from 'react';
import { frontOption, type SweepFront } from '../client/sweeps';
import { EChart } from './EChart';

export function SweepFrontChart({ front }: { front: SweepFront }) {
  const router = useRouter();
  const option = useMemo(() => frontOption(front), [front]);
  return (
    <EChart
      option={option}
      label={`Sweep runs: ${front.y.label ?? front.y.name} against ${front.x.label ?? front.x.name}, frontier joined`}
      height={340}
      testId="sweep-front-chart"
      onItemClick={(d) => {
        const runId = (d as { runId?: string } | undefined)?.runId;
        if (runId) router.push(`/runs/${runId}`);
      }}
    />
  );
}
