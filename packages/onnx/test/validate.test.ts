// Static validation: each issue kind on a small graph, shapes by ONNX broadcasting
// (onnx/docs/Broadcasting.md) and MatMul/Gemm/Gather/Reshape semantics (onnx/docs/Operators.md).
import { describe, expect, it } from 'vitest';
import {
  GraphBuilder,
  assertValid,
  attr,
  broadcastShapes,
  float32Tensor,
  int64Tensor,
  releaseGraph,
  replaceInitializer,
  runGraph,
  validate,
  type Model,
  type Node,
} from '../src/index';

const D = 8;
const F = 16;
const V = 32;

/** Embedding -> SwiGLU MLP with residual -> Reshape, with Optimum-style node names. */
function mlpModel(): Model {
  const b = new GraphBuilder('mlp');
  const fill = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * s) * 0.2);
  b.initializer('model.embed_tokens.weight', 'float32', [V, D], fill(V * D, 0.7));
  b.initializer('gate', 'float32', [D, F], fill(D * F, 1.1));
  b.initializer('up', 'float32', [D, F], fill(D * F, 1.3));
  b.initializer('down', 'float32', [F, D], fill(F * D, 1.7));
  const ids = b.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const h = b.op('Gather', ['model.embed_tokens.weight', ids], {}, { name: '/model/embed_tokens/Gather' });
  const g = b.op('MatMul', [h, 'gate'], {}, { name: '/model/layers.0/mlp/gate_proj/MatMul' });
  const u = b.op('MatMul', [h, 'up'], {}, { name: '/model/layers.0/mlp/up_proj/MatMul' });
  const act = b.op('Mul', [g, b.op('Sigmoid', [g])]);
  const d = b.op('MatMul', [b.op('Mul', [act, u]), 'down'], {}, { name: '/model/layers.0/mlp/down_proj/MatMul' });
  const r = b.op('Add', [h, d]);
  b.output(b.op('Reshape', [r, b.constI64([-1, D])], {}, { output: 'flat' }), 'float32', [null, D]);
  return b.toModel();
}

const kinds = (m: Model) => validate(m).map((i) => i.kind);
const node = (name: string, opType: string, inputs: string[], outputs: string[], domain = ''): Node => ({ name, opType, domain, inputs, outputs, attributes: {} });

describe('validate', () => {
  it('finds nothing wrong with a well-formed model that onnxruntime also runs', async () => {
    const m = mlpModel();
    expect(validate(m)).toEqual([]);
    expect(() => assertValid(m)).not.toThrow();
    const out = await runGraph(m, { input_ids: { dtype: 'int64', dims: [2, 3], data: BigInt64Array.from([1n, 2n, 3n, 4n, 5n, 31n]) } });
    await releaseGraph(m);
    expect(out.flat!.dims).toEqual([6, D]);
  });

  it('reports MatMul inner-dimension mismatches by node name', async () => {
    const m = mlpModel();
    replaceInitializer(m.graph, float32Tensor('up', [2 * D, F], new Float32Array(2 * D * F)));
    const issues = validate(m);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.kind).toBe('shape-mismatch');
    expect(issues[0]!.node).toBe('/model/layers.0/mlp/up_proj/MatMul');
    expect(issues[0]!.message).toMatch(/^MatMul "\/model\/layers\.0\/mlp\/up_proj\/MatMul": inner dimensions 8 vs 16/);
    // onnxruntime agrees the model is broken (it fails at load or run).
    await expect(runGraph(m, { input_ids: { dtype: 'int64', dims: [1, 1], data: BigInt64Array.from([1n]) } })).rejects.toThrow();
  });

  it('reports broadcast, Gemm, Gather-range and Reshape mismatches', () => {
    const b = new GraphBuilder('shapes');
    const x = b.input('x', 'float32', ['n', 4]);
    b.initializer('bias5', 'float32', [5], new Float32Array(5));
    b.initializer('w', 'float32', [3, 4], new Float32Array(12));
    b.initializer('table', 'float32', [10, 4], new Float32Array(40));
    b.addInitializer(int64Tensor('idx', [2], [3, 10]));
    const s1 = b.op('Add', [x, 'bias5'], {}, { name: 'add_bias' });
    const s2 = b.op('Gemm', [x, 'w'], { transB: attr.int(1) }, { name: 'gemm_ok' }); // w [3,4] transposed is [4,3]: fits
    const s3 = b.op('Gemm', [x, 'w'], {}, { name: 'gemm_bad' });
    const s4 = b.op('Gather', ['table', 'idx'], {}, { name: 'gather_bad' });
    b.graph.nodes.push({ name: 'shape_const', opType: 'Constant', domain: '', inputs: [], outputs: ['shp'], attributes: { value: attr.tensor(int64Tensor('s', [2], [3, 5])) } });
    const s5 = b.op('Reshape', ['table', 'shp'], {}, { name: 'reshape_bad' });
    for (const v of [s1, s2, s3, s4, s5]) b.output(v, 'float32');
    const msgs = validate(b.toModel()).map((i) => i.message);
    expect(msgs).toEqual([
      'Add "add_bias": shapes [n,4] and [5] do not broadcast (dimension 4 vs 5)',
      'Gemm "gemm_bad": inner dimensions 4 vs 3 ([n,4] x [3,4])',
      'Gather "gather_bad": index 10 out of range for axis 0 of size 10 (data [10,4])',
      'Reshape "reshape_bad": cannot reshape [10,4] (40 elements) to [3,5]',
    ]);
  });

  it('does not flag symbolic dimensions, and follows shapes through nodes listed out of order', () => {
    expect(broadcastShapes(['batch', 1, 'seq'], [4, 'seq'])).toEqual(['batch', 4, 'seq']);
    expect(broadcastShapes([2, 3], [3])).toEqual([2, 3]);
    const m = mlpModel();
    m.graph.nodes.reverse();
    expect(validate(m)).toEqual([]);
    replaceInitializer(m.graph, float32Tensor('down', [F + 1, D], new Float32Array((F + 1) * D)));
    expect(validate(m).map((i) => i.node)).toEqual(['/model/layers.0/mlp/down_proj/MatMul']);
  });

  it('follows shapes through RMSNorm (ReduceMean), Unsqueeze, Concat and Shape to find a bad gain', () => {
    const b = new GraphBuilder('norm');
    const x = b.input('x', 'float32', ['batch_size', 'sequence_length', D]);
    b.initializer('g', 'float32', [D - 1], new Float32Array(D - 1));
    const ms = b.op('ReduceMean', [b.op('Mul', [x, x])], { axes: attr.ints([-1]) });
    const inv = b.op('Div', [b.constF32(1), b.op('Sqrt', [b.op('Add', [ms, b.constF32(1e-5)])])]);
    const y = b.op('Mul', [b.op('Mul', [x, inv]), 'g'], {}, { name: '/model/norm/Mul_1' });
    const u = b.op('Unsqueeze', [b.op('Shape', [x]), b.constI64([0])]);
    b.output(b.op('Concat', [u, u], { axis: attr.int(1) }, { output: 'shapes' }), 'int64', [1, 6]);
    b.output(y, 'float32');
    expect(validate(b.toModel()).map((i) => i.message)).toEqual([
      'Mul "/model/norm/Mul_1": shapes [batch_size,sequence_length,8] and [7] do not broadcast (dimension 8 vs 7)',
    ]);
  });

  it('reports a declared output shape that disagrees with the computed one', () => {
    const m = mlpModel();
    m.graph.outputs[0]!.shape = [null, D + 1];
    expect(validate(m)[0]!.message).toBe('value "flat" is declared [?,9] but Reshape "Reshape/node" computes [?,8]');
  });

  it('reports dangling inputs, duplicate producers and initializers, unproduced outputs', () => {
    const m = mlpModel();
    const g = m.graph;
    g.nodes.push(node('reads_ghost', 'Neg', ['ghost'], ['neg_out']));
    g.nodes.push(node('second_writer', 'Neg', ['flat'], ['neg_out']));
    g.nodes.push(node('shadows_init', 'Identity', ['flat'], ['gate']));
    g.initializers.push(float32Tensor('up', [1], [0]));
    g.outputs.push({ name: 'never', dtype: 'float32' });
    const issues = validate(m);
    const byKind = (k: string) => issues.filter((i) => i.kind === k).map((i) => i.message);
    expect(byKind('duplicate-initializer')).toEqual(['initializer "up" is defined more than once']);
    expect(byKind('duplicate-producer')).toEqual([
      'value "neg_out" is produced by Neg "reads_ghost" and by Neg "second_writer"',
      'value "gate" is produced by an initializer and by Identity "shadows_init"',
    ]);
    expect(byKind('dangling-input')).toEqual(['Neg "reads_ghost" reads "ghost", which nothing produces']);
    expect(byKind('output-not-produced')).toEqual(['graph output "never" is never produced']);
    expect(() => assertValid(m)).toThrow(/model "mlp" is invalid \(\d+ issues\):\n- /);
  });

  it('reports cycles, missing opset imports and wrong tensor sizes', () => {
    const m = mlpModel();
    m.graph.nodes.push(node('c1', 'Neg', ['c2_out'], ['c1_out']), node('c2', 'Neg', ['c1_out'], ['c2_out']));
    m.graph.nodes.push(node('nbits', 'MatMulNBits', ['flat', 'gate'], ['q'], 'com.microsoft'));
    m.graph.initializers.push({ name: 'short', dtype: 'float32', dims: [3], raw: new Uint8Array(8) });
    const issues = validate(m);
    expect(kinds(m)).toEqual(['tensor-size', 'cycle', 'missing-opset']);
    expect(issues[0]!.message).toBe('initializer "short": 8 bytes for float32[3] (expected 12)');
    expect(issues[1]!.message).toMatch(/^cycle: (c1 -> c2 -> c1|c2 -> c1 -> c2)$/);
    expect(issues[2]!.message).toBe('MatMulNBits "nbits" uses domain "com.microsoft", which the model does not import');
    m.opsetImports.push({ domain: 'com.microsoft', version: 1 });
    expect(kinds(m)).toEqual(['tensor-size', 'cycle']);
  });
});
