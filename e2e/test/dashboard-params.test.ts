/** The new-run form's reading of technique parameter schemas (apps/web/client/params-schema.ts). */
import { registry } from '@distillery/techniques';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defaultParams, describeParams, rangeLabel, typeLabel } from '../../apps/web/client/params-schema';

/** What the API's `techniques { paramsSchema }` answers (apps/api runs.resolvers.ts). */
function apiSchema(schema: z.ZodType): unknown {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
}

const HAND_WRITTEN = {
  type: 'object',
  properties: {
    bits: { type: 'integer', minimum: 2, maximum: 4, default: 4, description: 'Bits per weight' },
    groupSize: { type: 'integer', exclusiveMinimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    skip: { type: 'array', items: { type: 'string' }, default: [] },
    loss: {
      type: 'object',
      default: {},
      properties: {
        alpha: { type: 'number', default: 0.5 },
        direction: { type: 'string', enum: ['forward', 'reverse'], default: 'forward' },
        temperature: { anyOf: [{ type: 'number' }, { type: 'null' }] },
      },
    },
  },
};

describe('technique parameter schemas in the new-run form', () => {
  it('collects defaults, leaving out parameters without one and completing object defaults', () => {
    expect(defaultParams(HAND_WRITTEN)).toEqual({ bits: 4, skip: [], loss: { alpha: 0.5, direction: 'forward' } });
    expect(defaultParams({ type: 'object' })).toEqual({});
    expect(defaultParams(null)).toEqual({});
    // A copy: editing the prefilled value must not change the schema.
    const d = defaultParams(HAND_WRITTEN) as { skip: string[] };
    d.skip.push('x');
    expect(HAND_WRITTEN.properties.skip.default).toEqual([]);
  });

  it('lists parameters with type, bounds, default and description, nested ones dotted', () => {
    const rows = describeParams(HAND_WRITTEN);
    expect(rows.map((r) => r.name)).toEqual(['bits', 'groupSize', 'skip', 'loss', 'loss.alpha', 'loss.direction', 'loss.temperature']);
    expect(rows[0]).toEqual({ name: 'bits', type: 'integer', defaultValue: '4', range: '≥ 2, ≤ 4', description: 'Bits per weight' });
    expect(rows[1]).toMatchObject({ type: 'integer', defaultValue: null, range: '> 0' });
    expect(rows[2]).toMatchObject({ type: 'string[]', defaultValue: '[]', range: '' });
    expect(rows[3]).toMatchObject({ type: 'object', defaultValue: null });
    expect(rows[5]).toMatchObject({ type: '"forward" | "reverse"', defaultValue: '"forward"' });
    expect(typeLabel({ anyOf: [{ type: 'number' }, { type: 'null' }] })).toBe('number | null');
    expect(rangeLabel({ exclusiveMaximum: 1 })).toBe('< 1');
  });

  it('for quantize.rtn-int8 prefills exactly its defaults', () => {
    const schema = apiSchema(registry.get('quantize.rtn-int8').params);
    expect(defaultParams(schema)).toEqual({ skip: [], minSize: 0 });
    expect(describeParams(schema).map((r) => [r.name, r.type, r.defaultValue])).toEqual([
      ['skip', 'string[]', '[]'],
      ['minSize', 'integer', '0'],
    ]);
  });

  it('prefilled parameters parse to what {} parses to, for every registered technique', () => {
    const ids = registry.list().map((t) => t.id);
    expect(ids.length).toBeGreaterThan(0);
    for (const t of registry.list()) {
      const fromDefaults = t.params.safeParse(defaultParams(apiSchema(t.params)));
      const fromEmpty = t.params.safeParse({});
      expect(fromDefaults.success, t.id).toBe(fromEmpty.success);
      if (fromEmpty.success) expect(fromDefaults.data, t.id).toEqual(fromEmpty.data);
    }
  });
});
