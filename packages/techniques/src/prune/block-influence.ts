/**
 * ShortGPT's Block Influence of every block (Men et al. 2024, eq. 2) from the residual
 * stream of a decoder built by packages/nn: the value entering block i (the embedding
 * Gather's output, then `/model/layers.{i-1}/Add_1`'s) and the value leaving it
 * (`/model/layers.{i}/Add_1`) are exposed as extra graph outputs and read over the
 * calibration windows in ORT. The kit's activation capture reduces linear-layer inputs to
 * sums inside the graph; this needs the two streams token by token, so it reads them whole.
 */
import { readDecoderConfig } from '@distillery/nn';
import { causalLm, createSession } from '@distillery/eval';
import { throwIfCanceled, type Model } from '@distillery/onnx';
import type { TechniqueContext } from '../technique';
import { blockInfluence } from './blocks';

const EMBEDDING_OUTPUT = '/model/embed_tokens/Gather_output_0';
const blockOutput = (i: number) => `/model/layers.${i}/Add_1_output_0`;

export async function blockInfluences(model: Model, sequences: ReadonlyArray<ArrayLike<number>>, ctx: TechniqueContext): Promise<Float64Array> {
  const config = readDecoderConfig(model);
  if (!config) throw new Error('prune.blocks: block influence needs a decoder built by Distillery (its config in the metadata)');
  const names = [EMBEDDING_OUTPUT, ...Array.from({ length: config.nLayers }, (_, i) => blockOutput(i))];
  const produced = new Set(model.graph.nodes.flatMap((n) => n.outputs));
  const missing = names.find((n) => !produced.has(n));
  if (missing) throw new Error(`prune.blocks: block influence reads the residual stream at ${missing}, which this graph does not have`);
  const probe: Model = {
    ...model,
    graph: { ...model.graph, outputs: [...model.graph.outputs, ...names.map((name) => ({ name, dtype: 'float32' as const, shape: ['batch_size', 'sequence_length', config.hiddenSize] }))] },
  };
  const sums = new Float64Array(config.nLayers);
  let count = 0;
  const session = await createSession(probe);
  try {
    const lm = causalLm(session);
    for (const [k, seq] of sequences.entries()) {
      throwIfCanceled(ctx.signal, 'prune.blocks');
      const out = await lm.outputs(seq, names);
      for (let i = 0; i < config.nLayers; i++) {
        const a = out[names[i]!]!.data as Float32Array;
        const b = out[names[i + 1]!]!.data as Float32Array;
        sums[i]! += blockInfluence(a, b, config.hiddenSize) * seq.length;
      }
      count += seq.length;
      ctx.onProgress((0.9 * (k + 1)) / sequences.length, 'block influence');
    }
  } finally {
    await session.release();
  }
  return sums.map((s) => s / count);
}
