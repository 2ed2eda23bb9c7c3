/**
 * Whether an ONNX model is one we can accept, decided in a worker thread before the
 * model is marked ready: its file must parse (external data only from the folder of a
 * server-side import), have at least one node and output, pass packages/onnx
 * `validate`, and hold only finite weights; a tokenizer.json given with it must load.
 * An ONNX file is checked from its graph with weights as file ranges (checkOnnxFile), so
 * no one holds its weights.
 * Every refusal names what is wrong (tensor, field).
 */
import { parseTokenizer } from '@distillery/nn';
import { firstNonFiniteWeight, inspectModel, nonFiniteChunkBuffer, nonFiniteIn, nonFiniteInFile, OnnxSkimError, skimModelFile, validate, type DeferredModel, type Model, type SkimmedModel, type SkimOptions, type TensorSource } from '@distillery/onnx';

export class ModelRejectedError extends Error {
  override name = 'ModelRejectedError';
}

export interface ModelSummary {
  parameterCount: number;
  nodeCount: number;
  opset: number;
}

/** An ONNX file that does not parse; `problem` names the file, the field and what is wrong. */
export class OnnxFileRejectedError extends ModelRejectedError {
  constructor(
    readonly problem: string,
    hint = '',
  ) {
    super(`not a usable ONNX model: ${problem}${hint}`);
  }
}

const MAX_LISTED_ISSUES = 3;

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

/**
 * An ONNX file checked like checkModel without holding its weights: the graph is skimmed
 * (weights left in the file as ranges), checked with placeholders, then each weight is read
 * from its range a chunk at a time and refused if it holds NaN or Inf. `dir` allows external
 * data files beside it (server-side imports); `label` is how errors name the file.
 */
export async function checkOnnxFile(file: string, opts: SkimOptions = {}): Promise<{ model: SkimmedModel; summary: ModelSummary }> {
  let skimmed: SkimmedModel;
  try {
    skimmed = skimModelFile(file, opts);
  } catch (e) {
    if (!(e instanceof OnnxSkimError)) throw e;
    const inline = opts.dir === undefined && /external data/.test(e.message) ? '; upload a model with its weights inline (a single .onnx file)' : '';
    throw new OnnxFileRejectedError(e.message, inline);
  }
  const summary = checkDeferredModel(skimmed);
  const scratch = nonFiniteChunkBuffer();
  for (const t of skimmed.model.graph.initializers) {
    const range = skimmed.ranges.get(t.name);
    if (range === undefined) continue;
    const bad = await nonFiniteInFile(range, t.dtype, scratch);
    if (bad) throw nonFiniteRefusal(t.name, bad);
  }
  return { model: skimmed, summary };
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
