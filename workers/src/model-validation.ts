/**
 * Whether bytes are an ONNX model we can accept, decided in a worker thread before the
 * model is marked ready: it must decode (external data only from the folder of a
 * server-side import), have at least one node and output, pass packages/onnx
 * `validate`, and hold only finite weights; a tokenizer.json given with it must load.
 * Every refusal names what is wrong (tensor, field).
 */
import { parseTokenizer } from '@distillery/nn';
import { decodeModel, decodeModelFromDir, firstNonFiniteWeight, inspectModel, nonFiniteIn, validate, type DeferredModel, type Model, type TensorSource } from '@distillery/onnx';

export class ModelRejectedError extends Error {
  override name = 'ModelRejectedError';
}

export interface ModelSummary {
  parameterCount: number;
  nodeCount: number;
  opset: number;
}

const MAX_LISTED_ISSUES = 3;

/** Decode a single-file model; `dir` allows external data files beside it (server-side imports). */
export function decodeForImport(bytes: Uint8Array, dir?: string): { model: Model; usesExternalData: boolean } {
  try {
    return { model: decodeModel(bytes), usesExternalData: false };
  } catch (e) {
    const message = (e as Error).message;
    if (dir !== undefined && /external data/.test(message)) {
      try {
        return { model: decodeModelFromDir(bytes, dir), usesExternalData: true };
      } catch (inner) {
        throw new ModelRejectedError(`not a usable ONNX model: ${(inner as Error).message}`);
      }
    }
    if (/external data/.test(message)) {
      throw new ModelRejectedError(`not a usable ONNX model: ${message}; upload a model with its weights inline (a single .onnx file)`);
    }
    throw new ModelRejectedError(`not a usable ONNX model: ${message}`);
  }
}

function nonFiniteRefusal(tensor: string, bad: { index: number; value: string }): ModelRejectedError {
  return new ModelRejectedError(`weight "${tensor}" holds ${bad.value} at element ${bad.index}; models with NaN or infinite weights are refused`);
}

function checkGraph(model: Model, deferred: ReadonlySet<string>): void {
  const g = model.graph;
  if (g.nodes.length === 0) throw new ModelRejectedError('not a usable ONNX model: the graph has no nodes');
  if (g.outputs.length === 0) throw new ModelRejectedError('not a usable ONNX model: the graph has no outputs');
  // A deferred weight's size is checked against its dims when it is written (writeDeferredModel).
  const issues = validate(model).filter((i) => !(i.kind === 'tensor-size' && i.value !== undefined && deferred.has(i.value)));
  if (issues.length) {
    const shown = issues.slice(0, MAX_LISTED_ISSUES).map((i) => i.message).join('; ');
    const more = issues.length > MAX_LISTED_ISSUES ? ` (and ${issues.length - MAX_LISTED_ISSUES} more)` : '';
    throw new ModelRejectedError(`not a usable ONNX model: the graph is invalid: ${shown}${more}`);
  }
}

function summaryOf(model: Model): ModelSummary {
  const opset = model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0;
  return { parameterCount: inspectModel(model).parameterCount, nodeCount: model.graph.nodes.length, opset };
}

export function checkModel(model: Model): ModelSummary {
  checkGraph(model, new Set());
  const bad = firstNonFiniteWeight(model);
  if (bad) throw nonFiniteRefusal(bad.tensor, bad);
  return summaryOf(model);
}

/**
 * checkModel for a model whose weights are still sources: the graph and its complete
 * tensors are checked here; the sources' weights are checked finite as they are written
 * (finiteSources), so no one holds them all.
 */
export function checkDeferredModel(d: DeferredModel): ModelSummary {
  const deferred = new Set(d.sources.keys());
  checkGraph(d.model, deferred);
  const complete = { ...d.model, graph: { ...d.model.graph, initializers: d.model.graph.initializers.filter((t) => !deferred.has(t.name)) } };
  const bad = firstNonFiniteWeight(complete);
  if (bad) throw nonFiniteRefusal(bad.tensor, bad);
  return summaryOf(d.model);
}

/** The same model whose sources refuse a NaN or infinite weight as they are read. */
export function finiteSources(d: DeferredModel): DeferredModel {
  const sources = new Map<string, TensorSource>();
  for (const [name, source] of d.sources) {
    sources.set(name, {
      dtype: source.dtype,
      dims: source.dims,
      async read() {
        const raw = await source.read();
        const bad = nonFiniteIn({ name, dtype: source.dtype, dims: [...source.dims], raw });
        if (bad) throw nonFiniteRefusal(name, bad);
        return raw;
      },
    });
  }
  return { model: d.model, sources };
}

/** Refuses a tokenizer.json we cannot encode with, naming the field it came from. */
export function checkTokenizer(json: string, field: string): void {
  try {
    parseTokenizer(json);
  } catch (e) {
    throw new ModelRejectedError(`${field}: not a usable tokenizer.json: ${e instanceof Error ? e.message : String(e)}`);
  }
}
