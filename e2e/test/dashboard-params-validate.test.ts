/**
 * The new-run form's schema checks against the API's own validation (each technique's zod
 * schema): the form never flags what the API accepts; rules across fields (e.g. "exactly
 * one of rank, energy, paramsRatio"), which JSON Schema does not carry, are left to the API.
 */
import { registry } from '@distillery/techniques';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defaultParams } from '../../apps/web/client/params-schema';
import { validateParams } from '../../apps/web/client/params-validate';
import { parseListInput, parseNumberInput } from '../../apps/web/client/params-input';

const CASES: Record<string, unknown>[] = [
  {},
  { bits: 4 },
  { bits: 1 },
  { bits: 9 },
  { bits: 4.5 },
  { bits: '4' },
  { minSize: -1 },
  { skip: ['a', ''] },
  { skip: 'lm_head' },
  { sparsity: 0.5 },
  { sparsity: 1 },
  { pattern: '2:4' },
  { pattern: 'two of four' },
  { format: 'matmulnbits' },
  { format: 'nope' },
  { steps: 0 },
  { steps: 10, lr: 0 },
  { lmHead: 'yes' },
  { notAParameter: 1 },
  { loss: { alpha: 2 } },
  { loss: { alpha: 0.5 } },
  { groups: 2 },
  { choices: [2, 4] },
  { choices: [2, 5] },
];

describe('new-run form validation', () => {
  it('never flags what the API accepts, and catches most of what it refuses', () => {
    let checked = 0;
    let leftToApi = 0;
    for (const t of registry.list()) {
      const schema = z.toJSONSchema(t.params, { io: 'input', unrepresentable: 'any' });
      for (const params of [defaultParams(schema), ...CASES]) {
        const api = t.params.safeParse(params);
        const form = validateParams(schema, params);
        if (api.success) expect({ technique: t.id, params, form }).toEqual({ technique: t.id, params, form: [] });
        else if (form.length === 0) leftToApi++;
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(leftToApi).toBeLessThan(checked / 4);
    // Single-field rules of one technique, case by case: the form decides as the API does.
    const rtn = registry.list().find((t) => t.id === 'quantize.rtn')!;
    const rtnSchema = z.toJSONSchema(rtn.params, { io: 'input', unrepresentable: 'any' });
    for (const params of CASES) expect({ params, ok: validateParams(rtnSchema, params).length === 0 }).toEqual({ params, ok: rtn.params.safeParse(params).success });
  });

  it('names the field and the rule', () => {
    const rtn = registry.list().find((t) => t.id === 'quantize.rtn')!;
    const schema = z.toJSONSchema(rtn.params, { io: 'input', unrepresentable: 'any' });
    expect(validateParams(schema, { bits: 9 })).toEqual([{ path: 'bits', message: 'must be at most 8' }]);
    expect(validateParams(schema, { bits: 'x' })).toEqual([{ path: 'bits', message: 'must be a whole number' }]);
    expect(validateParams(schema, { skip: ['a', ''] })).toEqual([{ path: 'skip[1]', message: 'must not be empty' }]);
    expect(validateParams(schema, { typo: 1 })).toEqual([{ path: 'typo', message: 'is not a parameter of this technique' }]);
  });

  it('reads typed numbers and lists', () => {
    expect(parseNumberInput(' 12 ')).toBe(12);
    expect(parseNumberInput('')).toBeUndefined();
    expect(parseNumberInput('4x')).toBe('4x');
    expect(parseListInput('0, 2,3', { type: 'integer' })).toEqual([0, 2, 3]);
    expect(parseListInput('lm_head, down', { type: 'string' })).toEqual(['lm_head', 'down']);
    expect(parseListInput('', { type: 'string' })).toEqual([]);
  });
});
