/**
 * Our decoder as a llama2.c checkpoint (layout in llama2c-layout.ts), for tests and
 * benchmarks: the inverse of read-llama2c.ts, RoPE tables filled as run.c's exporter does.
 */
import { open } from 'node:fs/promises';
import type { DecoderConfig, DecoderWeights } from '@distillery/nn';
import { halvesToInterleaved } from '../rotary-layout';
import { transpose2d } from '../safetensors/hf-linear-layout';
import { LLAMA2C_HEADER_BYTES, llama2cBlocks } from './llama2c-layout';

export async function writeLlama2c(file: string, c: DecoderConfig, weights: DecoderWeights): Promise<void> {
  if (c.ropeTheta !== 10000 || c.normEps !== 1e-5 || c.headDim * c.nHeads !== c.hiddenSize || c.qkvBias) {
    throw new Error('llama2.c fixes rope theta 10000, norm epsilon 1e-5, head size dim / n_heads and has no biases; this config differs');
  }
  const handle = await open(file, 'w');
  try {
    const header = new DataView(new ArrayBuffer(LLAMA2C_HEADER_BYTES));
    [c.hiddenSize, c.ffnSize, c.nLayers, c.nHeads, c.nKvHeads, c.tieEmbeddings ? c.vocabSize : -c.vocabSize, c.maxPositions].forEach((v, i) => header.setInt32(i * 4, v, true));
    await handle.write(new Uint8Array(header.buffer));
    const D = c.hiddenSize;
    for (const block of llama2cBlocks(c)) {
      const items = block.perLayer ? c.nLayers : 1;
      for (let i = 0; i < items; i++) {
        let values: Float32Array;
        if (block.weight === null) {
          // run.c skips these; the exporter stores cos/sin of pos * 10000^(-2j/hd).
          const [positions, half] = block.stored as [number, number];
          values = new Float32Array(positions * half);
          for (let p = 0; p < positions; p++) for (let j = 0; j < half; j++) {
            const angle = p * Math.pow(10000, (-2 * j) / c.headDim);
            values[p * half + j] = block.name === 'freq_cis_real' ? Math.cos(angle) : Math.sin(angle);
          }
        } else {
          const ours = weights.get(block.weight.replace('{i}', String(i)));
          if (!ours) throw new Error(`weight ${block.weight.replace('{i}', String(i))} is missing`);
          const [out, inner] = block.stored;
          values = block.stored.length === 2 && block.name !== 'token_embedding_table' ? transpose2d(ours, inner, out) : ours;
          if (block.name === 'wq') values = halvesToInterleaved(values, c.nHeads, c.headDim, D);
          if (block.name === 'wk') values = halvesToInterleaved(values, c.nKvHeads, c.headDim, D);
        }
        await handle.write(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      }
    }
  } finally {
    await handle.close();
  }
}
