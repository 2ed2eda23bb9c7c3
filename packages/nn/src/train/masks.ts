/**
 * Sparsity masks (1 = keep, 0 = pruned) applied to weights and gradients, so a sparse model
 * stays sparse through fine-tuning.
 */
import type { ParamMap } from './types';

export type MaskMap = Map<string, Uint8Array>;

/** Throws unless every mask names a known parameter and has its length. */
export function checkMasks(params: ParamMap, masks: MaskMap): void {
  for (const [name, mask] of masks) {
    const p = params.get(name);
    if (!p) throw new Error(`mask given for unknown parameter "${name}"`);
    if (mask.length !== p.length) throw new Error(`mask of "${name}" has ${mask.length} elements, parameter has ${p.length}`);
  }
}

/** Sets to 0 every element of each array in `values` whose mask entry is 0 (in place). */
export function applyMasks(values: ParamMap, masks: MaskMap): void {
  for (const [name, mask] of masks) {
    const a = values.get(name);
    if (!a) continue;
    for (let i = 0; i < a.length; i++) if (mask[i] === 0) a[i] = 0;
  }
}
