/**
 * gptq-kernel: the quant suite's GPTQ kernel-speed row on its own (quant-methods.ts says
 * what it measures), for a quick look without the quant suite's perplexity rows.
 */
import type { BenchSuite } from '../suite';
import { gptqKernelRow } from './quant-methods';

const suite: BenchSuite = {
  name: 'gptq-kernel',
  description: 'GPTQ on a 1024x1024 layer: FLOP/s against ORT MatMul in the same run (the quant suite row alone)',
  async run({ quick, log }) {
    return [await gptqKernelRow(quick, log)];
  },
};

export default suite;
