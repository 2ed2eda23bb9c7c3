/**
 * The lineage query and the graph drawn from it: models and runs placed in columns by
 * their distance from the roots (base models), so the flow reads left to right.
 */
import { escapeHtml } from './escape-html';

export const LINEAGE = `query Lineage($projectId: ID, $modelId: ID) {
  lineage(projectId: $projectId, modelId: $modelId) {
    truncated
    nodes { id kind label status }
    edges { from to kind }
  }
}`;

export type LineageKind = 'MODEL' | 'RUN';

export interface LineageNode {
  id: string;
  kind: LineageKind;
  label: string;
  status: string;
}

export interface LineageEdge {
  from: string;
  to: string;
  kind: 'BASE_OF' | 'PRODUCED' | 'PARENT_OF';
}

export interface LineageGraph {
  truncated: boolean;
  nodes: LineageNode[];
  edges: LineageEdge[];
}

export interface PlacedNode extends LineageNode {
  column: number;
  row: number;
}

/**
 * Column = length of the longest path from a root (a node nothing points to), so every
 * edge goes rightwards; rows keep the API's order within a column. Cycles (which the API
 * never answers) are cut rather than looped on.
 */
export function layoutLineage(graph: LineageGraph): PlacedNode[] {
  const known = new Set(graph.nodes.map((n) => n.id));
  const incoming = new Map<string, string[]>();
  for (const e of graph.edges) {
    if (!known.has(e.from) || !known.has(e.to)) continue;
    incoming.set(e.to, [...(incoming.get(e.to) ?? []), e.from]);
  }
  const column = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (id: string): number => {
    const done = column.get(id);
    if (done !== undefined) return done;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const parents = incoming.get(id) ?? [];
    const d = parents.length === 0 ? 0 : 1 + Math.max(...parents.map(depth));
    visiting.delete(id);
    column.set(id, d);
    return d;
  };
  const rows = new Map<number, number>();
  return graph.nodes.map((n) => {
    const c = depth(n.id);
    const row = rows.get(c) ?? 0;
    rows.set(c, row + 1);
    return { ...n, column: c, row };
  });
}

const COLUMN_GAP = 220;
const ROW_GAP = 70;

/** The ECharts graph series for a placed lineage: models as boxes, runs as dots; tooltips escape every label. */
export function lineageOption(placed: PlacedNode[], edges: LineageEdge[]) {
  return {
    tooltip: {
      formatter: (p: { dataType?: string; data?: { name?: string; kind?: string; status?: string } }) =>
        p.dataType === 'node' && p.data ? `${escapeHtml(p.data.kind === 'MODEL' ? 'Model' : 'Run')}: ${escapeHtml(p.data.name ?? '')}<br/>${escapeHtml(p.data.status ?? '')}` : '',
    },
    series: [
      {
        type: 'graph',
        layout: 'none',
        roam: true,
        label: { show: true, position: 'bottom', width: 180, overflow: 'truncate', fontSize: 11 },
        edgeSymbol: ['none', 'arrow'],
        edgeSymbolSize: 7,
        lineStyle: { color: '#adb5bd', width: 1.5 },
        data: placed.map((n) => ({
          id: n.id,
          name: n.label,
          kind: n.kind,
          status: n.status,
          x: n.column * COLUMN_GAP,
          y: n.row * ROW_GAP,
          symbol: n.kind === 'MODEL' ? 'roundRect' : 'circle',
          symbolSize: n.kind === 'MODEL' ? [28, 18] : 14,
          itemStyle: { color: n.kind === 'MODEL' ? '#1c5ed6' : n.status === 'failed' ? '#b42318' : '#1e7b40' },
        })),
        links: edges.map((e) => ({ source: e.from, target: e.to })),
      },
    ],
  };
}
