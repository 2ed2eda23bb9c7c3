/**
 * The parameters every weight-only quantization method shares with quantize.rtn (GPTQ, AWQ,
 * mixed precision): the layer selection, the grid (bits, symmetric or not, rows per scale)
 * and the output format, taken from rtn's schema so all methods read them alike.
 */
import { linearSelectionParams } from '../kit/select-linear';
import type { QuantSpec } from '../kit/quantizer';
import { rtnParams } from './rtn';

const rtn = rtnParams.shape;

export const weightQuantParams = {
  ...linearSelectionParams,
  bits: rtn.bits,
  symmetric: rtn.symmetric,
  groupSize: rtn.groupSize,
  format: rtn.format,
  accuracyLevel: rtn.accuracyLevel,
};

export function specOf(p: { bits: number; symmetric: boolean; groupSize?: number }): QuantSpec {
  return { bits: p.bits, symmetric: p.symmetric, groupSize: p.groupSize };
}
