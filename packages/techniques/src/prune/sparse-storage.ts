/**
 * How many bytes a pruned weight takes when stored compressed, so sizes are reported
 * honestly: ONNX Runtime has no sparse MatMul kernel, so the model file keeps dense zeros and
 * runs at dense speed; these are the bytes of the packed layouts such a weight would ship in.
 *  - unstructured: a 1-bit occupancy bitmap plus the nonzero values (a bitmap costs
 *    in*out/8 bytes, less than any index list above 1/16 density at 16-bit indices);
 *  - N:M: the kept values plus ceil(log2 M) bits of position per kept value (the 2-bit
 *    metadata of 2:4 in Mishra et al. 2021, sec. 2).
 */
import type { SparsityTarget } from './sparsity-mask';

export function sparseStoredBytes(mask: Uint8Array, valueBytes: number, target: SparsityTarget): number {
  let nonzero = 0;
  for (let i = 0; i < mask.length; i++) nonzero += mask[i]!;
  if (target.kind === 'nm') return nonzero * valueBytes + Math.ceil((nonzero * Math.ceil(Math.log2(target.m))) / 8);
  return nonzero * valueBytes + Math.ceil(mask.length / 8);
}
