/** Dense output: new float weights stored in float32/float16/bfloat16, read by the same MatMuls (through a Cast when the storage dtype differs). */
import type { LinearWeight } from '../../linear-weights';
import type { LinearEdit } from '../linear-edit';
import type { StorageDtype } from '../linear-result';

export function writeDense(edit: LinearEdit, layer: LinearWeight, values: Float32Array, dtype: StorageDtype): void {
  // A tied head's table stays (the embedding reads it), so only a replaced weight gives up its name.
  if (!layer.transpose) edit.reuse(layer.weight.name);
  edit.rewireB(layer, edit.floatWeight(layer, layer.weight.name, [layer.inFeatures, layer.outFeatures], values, dtype));
}
