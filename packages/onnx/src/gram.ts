/**
 * Gram matrix X^T X of an [n, d] float32 matrix, computed by onnxruntime as one
 * Gemm(transA=1) node: GPTQ/SparseGPT accumulate these Hessian proxies from calibration
 * activations, where a JS triple loop would be two orders of magnitude slower.
 */
import { GraphBuilder } from './graph-builder';
import { attr, type Model } from './model';
import { runGraph } from './run-graph';

let gramModel: Model | undefined;

/** One graph for every size (dims are symbolic), so runGraph's session cache serves all calls. */
function model(): Model {
  if (!gramModel) {
    const b = new GraphBuilder('gram');
    const x = b.input('x', 'float32', ['n', 'd']);
    const g = b.op('Gemm', [x, x], { transA: attr.int(1) }, { name: 'gram', output: 'gram' });
    b.output(g, 'float32', ['d', 'd']);
    gramModel = b.toModel();
  }
  return gramModel;
}

/** X^T X as a row-major [d, d] Float32Array; `x` is row-major [n, d]. */
export async function gram(x: Float32Array, n: number, d: number): Promise<Float32Array> {
  if (x.length !== n * d) throw new Error(`gram: ${x.length} values given for a [${n}, ${d}] matrix`);
  const out = await runGraph(model(), { x: { dtype: 'float32', dims: [n, d], data: x } });
  return out.gram!.data as Float32Array;
}
