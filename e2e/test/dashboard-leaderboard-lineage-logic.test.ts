/** The leaderboard's budget parsing and metric choice, the lineage graph's column layout, sweep figures, and the subscription relay's credential swap. */
import { describe, expect, it } from 'vitest';
import { parseBudget, rankableMetrics } from '../../apps/web/client/leaderboard';
import { layoutLineage, lineageOption, type LineageGraph } from '../../apps/web/client/lineage';
import { parseSpace, sweepProgress } from '../../apps/web/client/sweeps';
import { withSessionToken } from '../../apps/web/server/graphql-socket-proxy.mjs';

describe('leaderboard inputs', () => {
  it('reads an empty budget as none and scales a number to the API unit', () => {
    expect(parseBudget('  ', 1024, 'size')).toBeNull();
    expect(parseBudget('2.5', 1024, 'size')).toBe(2560);
    expect(parseBudget('0', 1, 'latency')).toBe(0);
  });

  it('names the bad budget', () => {
    expect(() => parseBudget('-1', 1, 'the latency budget')).toThrow(/the latency budget must be a non-negative number, got "-1"/);
    expect(() => parseBudget('ten', 1, 'the size budget')).toThrow(/the size budget/);
  });

  it('offers only output figures with a better direction', () => {
    const names = rankableMetrics([
      { name: 'perplexity', label: 'Perplexity', unit: '', lowerIsBetter: true, scope: 'model' },
      { name: 'base.perplexity', label: 'Base perplexity', unit: '', lowerIsBetter: true, scope: 'base' },
      { name: 'parameters', label: 'Parameters', unit: 'count', lowerIsBetter: null, scope: 'model' },
    ]).map((m) => m.name);
    expect(names).toEqual(['perplexity']);
  });
});

describe('lineage layout', () => {
  const graph: LineageGraph = {
    truncated: false,
    nodes: [
      { id: 'm1', kind: 'MODEL', label: 'base', status: 'ready' },
      { id: 'r1', kind: 'RUN', label: 'quantize.rtn', status: 'succeeded' },
      { id: 'r2', kind: 'RUN', label: 'prune.magnitude', status: 'failed' },
      { id: 'm2', kind: 'MODEL', label: 'out', status: 'ready' },
      { id: 'r3', kind: 'RUN', label: 'quantize.gptq', status: 'queued' },
    ],
    edges: [
      { from: 'm1', to: 'r1', kind: 'BASE_OF' },
      { from: 'm1', to: 'r2', kind: 'BASE_OF' },
      { from: 'r1', to: 'm2', kind: 'PRODUCED' },
      { from: 'm1', to: 'm2', kind: 'PARENT_OF' },
      { from: 'm2', to: 'r3', kind: 'BASE_OF' },
    ],
  };

  it('puts every node one column right of its furthest parent, rows in order', () => {
    const placed = Object.fromEntries(layoutLineage(graph).map((n) => [n.id, [n.column, n.row]]));
    expect(placed).toEqual({ m1: [0, 0], r1: [1, 0], r2: [1, 1], m2: [2, 0], r3: [3, 0] });
    for (const e of graph.edges) expect(placed[e.to]![0]).toBeGreaterThan(placed[e.from]![0]);
  });

  it('survives a cycle and edges to unknown nodes', () => {
    const cyclic: LineageGraph = {
      truncated: true,
      nodes: [
        { id: 'a', kind: 'MODEL', label: 'a', status: 'ready' },
        { id: 'b', kind: 'RUN', label: 'b', status: 'running' },
      ],
      edges: [
        { from: 'a', to: 'b', kind: 'BASE_OF' },
        { from: 'b', to: 'a', kind: 'PRODUCED' },
        { from: 'zz', to: 'a', kind: 'PARENT_OF' },
      ],
    };
    expect(layoutLineage(cyclic)).toHaveLength(2);
  });

  it('escapes labels in tooltips', () => {
    const option = lineageOption(layoutLineage({ truncated: false, nodes: [{ id: 'x', kind: 'MODEL', label: '<img src=x>', status: 'ready' }], edges: [] }), []);
    const html = option.tooltip.formatter({ dataType: 'node', data: option.series[0]!.data[0]! });
    expect(html).toContain('&lt;img src=x&gt;');
    expect(html).not.toContain('<img');
  });
});

describe('sweep figures', () => {
  it('counts finished runs against the budget', () => {
    const p = sweepProgress({ maxRuns: 4, runs: [{ id: 'a', status: 'succeeded' }, { id: 'b', status: 'failed' }, { id: 'c', status: 'running' }, { id: 'd', status: 'queued' }] });
    expect(p).toEqual({ finished: 2, running: 1, queued: 1, fraction: 0.5 });
    expect(sweepProgress({ maxRuns: 0, runs: [] }).fraction).toBe(0);
  });

  it('reads a search space and names what is wrong with a bad one', () => {
    expect(parseSpace('[{"path": "steps[0].params.bits", "values": [2, 4]}]')).toHaveLength(1);
    expect(() => parseSpace('[{"path": ')).toThrow(/not JSON/);
    expect(() => parseSpace('[]')).toThrow(/non-empty JSON array/);
    expect(() => parseSpace('[{"values": [1]}]')).toThrow(/entry 1 needs a "path"/);
  });
});

describe('subscription relay', () => {
  it('puts the session token into connection_init, replacing any credential the page sent', () => {
    const out = JSON.parse(withSessionToken(JSON.stringify({ type: 'connection_init', payload: { token: 'forged', extra: 1 } }), 'secret')) as { payload: Record<string, unknown> };
    expect(out.payload).toEqual({ extra: 1, authorization: 'Bearer secret' });
    const withoutPayload = JSON.parse(withSessionToken('{"type":"connection_init"}', 's')) as { payload: Record<string, unknown> };
    expect(withoutPayload.payload).toEqual({ authorization: 'Bearer s' });
  });

  it('passes other messages through unchanged', () => {
    const subscribe = '{"type":"subscribe","id":"1","payload":{"query":"subscription { x }"}}';
    expect(withSessionToken(subscribe, 's')).toBe(subscribe);
    expect(withSessionToken('not json', 's')).toBe('not json');
  });
});
