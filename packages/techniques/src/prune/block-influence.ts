/**
 * ShortGPT's Block Influence of every block (Men et al. 2024, eq. 2) from the residual
 * stream of a decoder built by packages/nn: the value entering block i (the embedding's
 * output, then block i-1's second residual Add's) and the value leaving it (block i's
 * second residual Add, `/model/layers.{i}/Add_1` or GPT-2's `/transformer/h.{i}/Add_1`) are
 * exposed as extra graph outputs and read over the calibration windows in ORT. The kit's
 * activation capture reduces linear-layer inputs to sums inside the graph; this needs the
 * two streams token by token, so it reads them whole.
 */
import { readDecoderConfig, readGpt2Config } from '@distillery/nn';
import { causalLm, createSession } from '@distillery/eval';
import { throwIfCanceled, type Model } from '@distillery/onnx';
import type { TechniqueContext } from '../technique';
import { blockInfluence } from './blocks';

/** The residual stream's tensor names: the embedding output, then each block's output. */
function residualStream(model: Model): { hiddenSize: number; nLayers: number; names: string[] } {
  const llama = readDecoderConfig(model);
  if (llama) return { ...llama, names: ['/model/embed_tokens/Gather_output_0', ...Array.from({ length: llama.nLayers }, (_, i) => `/model/layers.${i}/Add_1_output_0`)] };
  const gpt2 = readGpt2Config(model);
  // GPT-2's stream starts as token plus position embedding.
  if (gpt2) return { ...gpt2, names: ['/transformer/Add_output_0', ...Array.from({ length: gpt2.nLayers }, (_, i) => `/transformer/h.${i}/Add_1_output_0`)] };
  throw new Error('prune.blocks: block influence needs a decoder built by Distillery (its config in the metadata)');
}

export async function blockInfluences(model: Model, sequences: ReadonlyArray<ArrayLike<number>>, ctx: TechniqueContext): Promise<Float64Array> {
  const { names, ...config } = residualStream(model);
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
