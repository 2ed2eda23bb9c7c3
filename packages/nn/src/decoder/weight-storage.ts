/**
 * How the model builders (Llama-style decoder, GPT-2) store a weight: float32, float16 with
 * a Cast to float32 at run time (compute stays float32), or a placeholder for a TensorSource
 * that the importer reads when the model is written (writeDeferredModel), so a converted
 * model never holds all its weights at once.
 */
import { attr, float32ToFloat16Array, makeTensor, placeholderTensor, type GraphBuilder, type TensorSource } from '@distillery/onnx';

export interface WeightStorage {
  /** Storage of the weights given as float32 values. */
  weightDtype?: 'float32' | 'float16';
  /** Weights read when the model is written, float32 or float16 as each source says; names here need not be in `weights`. */
  sources?: ReadonlyMap<string, TensorSource>;
}

/** The weights plus the sources' sizes, for the builders' shape checks. */
export function withSourceSizes(weights: ReadonlyMap<string, ArrayLike<number>>, storage: WeightStorage): ReadonlyMap<string, ArrayLike<number>> {
  if (!storage.sources || storage.sources.size === 0) return weights;
  const all = new Map<string, ArrayLike<number>>(weights);
  for (const [name, s] of storage.sources) all.set(name, { length: s.dims.reduce((a, d) => a * d, 1) });
  return all;
}

/**
 * Adds weight `name` of shape `dims` and returns the float32 value to compute with; `data`
 * is used when no source is given for the name. Half-precision weights pass through a Cast
 * node named `/weights/<name>/Cast`.
 */
export function addWeight(b: GraphBuilder, name: string, dims: readonly number[], data: Float32Array | undefined, storage: WeightStorage): string {
  const cast = (): string => {
    const out = `/weights/${name}/Cast_output_0`;
    b.node('Cast', [name], { to: attr.int(1) }, { outputs: [out] });
    b.graph.nodes[b.graph.nodes.length - 1]!.name = `/weights/${name}/Cast`;
    return out;
  };
  const source = storage.sources?.get(name);
  if (source !== undefined) {
    if (source.dims.length !== dims.length || source.dims.some((d, i) => d !== dims[i])) {
      throw new Error(`weight ${name}: its source is [${source.dims.join(', ')}], the model needs [${dims.join(', ')}]`);
    }
    if (source.dtype !== 'float32' && source.dtype !== 'float16') throw new Error(`weight ${name}: a ${source.dtype} source cannot be stored (float32 or float16)`);
    b.addInitializer(placeholderTensor(name, source));
    return source.dtype === 'float16' ? cast() : name;
  }
  if (data === undefined) throw new Error(`weight ${name} is missing`);
  if ((storage.weightDtype ?? 'float32') === 'float32') return b.addInitializer(makeTensor(name, 'float32', [...dims], data));
  b.addInitializer(makeTensor(name, 'float16', [...dims], float32ToFloat16Array(data)));
  return cast();
}
