/**
 * Whether bytes are an ONNX model we can accept, decided before anything points at
 * them: it must decode, carry its weights inline (uploads have no side files), have at
 * least one node and output, and pass packages/onnx `validate`.
 */
import { decodeModel, decodeModelFromDir, inspectModel, validate, type Model } from '@distillery/onnx';

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
        throw new ModelRejectedError((inner as Error).message);
      }
    }
    if (/external data/.test(message)) {
      throw new ModelRejectedError(`${message}; upload a model with its weights inline (a single .onnx file)`);
    }
    throw new ModelRejectedError(message);
  }
}

export function checkModel(model: Model): ModelSummary {
  const g = model.graph;
  if (g.nodes.length === 0) throw new ModelRejectedError('the graph has no nodes');
  if (g.outputs.length === 0) throw new ModelRejectedError('the graph has no outputs');
  const issues = validate(model);
  if (issues.length) {
    const shown = issues.slice(0, MAX_LISTED_ISSUES).map((i) => i.message).join('; ');
    const more = issues.length > MAX_LISTED_ISSUES ? ` (and ${issues.length - MAX_LISTED_ISSUES} more)` : '';
    throw new ModelRejectedError(`the graph is invalid: ${shown}${more}`);
  }
  const opset = model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0;
  return { parameterCount: inspectModel(model).parameterCount, nodeCount: g.nodes.length, opset };
}
