import { describe, expect, it } from 'vitest';
import { dequantizeWeight, quantizeWeight, quietContext, rewriteLinear, type QuantSpec } from '../../src';
import { readMatMulNBits } from '../../src/kit/formats/matmulnbits';
import { buildMlp } from '../mlp-fixture';

describe('readMatMulNBits', () => {
  const cases: [number, QuantSpec][] = [
    [64, { bits: 4, symmetric: true, groupSize: 32 }],
    [64, { bits: 4, symmetric: false, groupSize: 16 }],
    [64, { bits: 2, symmetric: false, groupSize: 32 }],
    [64, { bits: 8, symmetric: true, groupSize: 32 }],
    [40, { bits: 4, symmetric: true }],
    [40, { bits: 4, symmetric: false, groupSize: 16 }],
  ];
  for (const [k, spec] of cases) {
    it(`reads back the weight written: ${spec.bits} bits ${spec.symmetric ? 'sym' : 'asym'} group ${spec.groupSize ?? 'per-channel'}, ${k} rows`, async () => {
      const { model, w1 } = buildMlp(k, 64, 24, spec.bits);
      const out = await rewriteLinear(model, { technique: 'test', format: 'matmulnbits', method: (t) => ({ kind: 'quantized', weight: quantizeWeight(t.values, t.inFeatures, t.outFeatures, spec, t.name) }), ctx: quietContext() });
      const node = out.model.graph.nodes.find((n) => n.name === '/model/layers.0/mlp/up_proj/MatMul')!;
      const read = readMatMulNBits(node, new Map(out.model.graph.initializers.map((t) => [t.name, t])));
      const written = quantizeWeight(w1, k, 64, spec);
      expect([read.rows, read.cols, read.bits, read.symmetric]).toEqual([k, 64, spec.bits, spec.symmetric]);
      expect(Array.from(read.codes)).toEqual(Array.from(written.codes));
      expect(Array.from(dequantizeWeight(read))).toEqual(Array.from(dequantizeWeight(written)));
    });
  }
});
