/**
 * onnxruntime-node, loaded on first use. Importing a package that can run models (this
 * one, nn, eval, techniques) must not load the native runtime: the API process imports
 * the technique registry for recipe validation and never runs a model (ARCHITECTURE.md,
 * process boundaries). Modules write `import { ort } from '@distillery/onnx'` and use
 * `ort.InferenceSession`, `ort.Tensor` and their types exactly as with
 * `import * as ort from 'onnxruntime-node'`.
 */
import { createRequire } from 'node:module';
import type * as Ort from 'onnxruntime-node';

const requireFromHere = createRequire(import.meta.url);
let loaded: typeof Ort | undefined;

function runtime(): typeof Ort {
  loaded ??= requireFromHere('onnxruntime-node') as typeof Ort;
  return loaded;
}

/** Whether this process has loaded the native runtime yet. */
export function ortLoaded(): boolean {
  return loaded !== undefined;
}

export const ort = {
  get InferenceSession(): typeof Ort.InferenceSession {
    return runtime().InferenceSession;
  },
  get Tensor(): typeof Ort.Tensor {
    return runtime().Tensor;
  },
  get env(): typeof Ort.env {
    return runtime().env;
  },
};

// The types under the same name, so `ort.Tensor` and `ort.InferenceSession.SessionOptions`
// read as they do with onnxruntime-node's own namespace.
export declare namespace ort {
  type InferenceSession = Ort.InferenceSession;
  namespace InferenceSession {
    type SessionOptions = Ort.InferenceSession.SessionOptions;
    type RunOptions = Ort.InferenceSession.RunOptions;
    type ValueMetadata = Ort.InferenceSession.ValueMetadata;
    type FeedsType = Ort.InferenceSession.FeedsType;
    type FetchesType = Ort.InferenceSession.FetchesType;
    type ReturnType = Ort.InferenceSession.ReturnType;
    type OnnxValueMapType = Ort.InferenceSession.OnnxValueMapType;
  }
  type Tensor = Ort.Tensor;
  namespace Tensor {
    type Type = Ort.Tensor.Type;
    type DataType = Ort.Tensor.DataType;
    type DataTypeMap = Ort.Tensor.DataTypeMap;
    type ElementTypeMap = Ort.Tensor.ElementTypeMap;
  }
  type TypedTensor<T extends Ort.Tensor.Type> = Ort.TypedTensor<T>;
  type OnnxValue = Ort.OnnxValue;
}
