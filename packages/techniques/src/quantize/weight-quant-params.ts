/**
 * The parameters every weight-only quantization method shares (GPTQ, AWQ, HQQ): the grid
 * (bits, symmetric or not, rows per scale) and the output format, spread into each
 * method's zod schema next to the layer selection.
 */
import { z } from 'zod';
import { QUANTIZED_FORMATS } from '../kit/linear-result';
import { linearSelectionParams } from '../kit/select-linear';
import type { QuantSpec } from '../kit/quantizer';

export const weightQuantParams = {
  ...linearSelectionParams,
  bits: z.union([z.literal(2), z.literal(3), z.literal(4), z.literal(8)]).default(4),
  symmetric: z.boolean().default(true),
  /** Input rows per scale; omitted = one scale per output channel. MatMulNBits needs a power of two >= 16. */
  groupSize: z.number().int().min(8).max(4096).optional(),
  /** dequantize-linear runs every width; matmulnbits is the fast form for 2, 4 and 8 bits. */
  format: z.enum(QUANTIZED_FORMATS).default('dequantize-linear'),
  /** MatMulNBits accuracy_level: 4 = int8 activations inside the kernel (fast), 0 = fp32. */
  accuracyLevel: z.number().int().min(0).max(4).default(4),
};

export function specOf(p: { bits: number; symmetric: boolean; groupSize?: number }): QuantSpec {
  return { bits: p.bits, symmetric: p.symmetric, groupSize: p.groupSize };
}
