/**
 * A slow, plainly written forward pass of the Llama-style decoder, used as the oracle
 * the ONNX build is tested against. Nested loops with float64 accumulation, one batch
 * row, layer, head and position at a time.
 *
 * Architecture: Touvron et al. 2023, "LLaMA" (section 2.2: pre-norm, SwiGLU, RoPE).
 * RMSNorm: Zhang & Sennrich 2019, eq. (4), eps inside the square root.
 * RoPE: Su et al. 2021, "RoFormer", section 3.4.2, in the HF "rotate_half" layout.
 * Grouped-query attention: Ainslie et al. 2023, "GQA", section 2.
 * SwiGLU MLP: Shazeer 2020, "GLU Variants Improve Transformer", eq. (6), with Swish_1 = SiLU.
 */
import type { DecoderConfig } from './config';
import { layerPrefix, type DecoderWeights } from './weights';

/** One layer's cache, each [batch, nKvHeads, length, headDim] flattened row-major. */
export interface LayerKv {
  key: Float32Array;
  value: Float32Array;
}

export interface KvCache {
  /** Positions held per batch row (past_sequence_length). */
  length: number;
  layers: LayerKv[];
}

export interface ReferenceForwardOptions {
  past?: KvCache;
  /** [batch][seq]; default past.length + i. */
  positionIds?: number[][];
  /** [batch][past + seq] of 0/1; default all ones. */
  attentionMask?: number[][];
}

export interface ReferenceForwardResult {
  logits: number[][][];
  present: KvCache;
}

/** What a masked score becomes: float32's lowest value, so a fully masked row is uniform, not NaN. */
export const MASKED_SCORE = -3.4028234663852886e38;

function get(weights: DecoderWeights, name: string): Float32Array {
  const w = weights.get(name);
  if (!w) throw new Error(`missing weight ${name}`);
  return w;
}

/** x [in] @ W [in, out] */
function linear(x: number[], w: Float32Array, out: number): number[] {
  const y = new Array<number>(out).fill(0);
  for (let i = 0; i < x.length; i++) {
    for (let j = 0; j < out; j++) y[j]! += x[i]! * w[i * out + j]!;
  }
  return y;
}

function rmsNorm(x: number[], g: Float32Array, eps: number): number[] {
  let ms = 0;
  for (const v of x) ms += v * v;
  ms /= x.length;
  const r = 1 / Math.sqrt(ms + eps);
  return x.map((v, i) => v * r * g[i]!);
}

/** x' = x cos(pos θ) + rotate_half(x) sin(pos θ), θ_i = theta^(-2i/hd) duplicated over both halves. */
function rope(x: number[], pos: number, theta: number): number[] {
  const hd = x.length;
  const half = hd / 2;
  const out = new Array<number>(hd);
  for (let j = 0; j < hd; j++) {
    const i = j % half;
    const angle = pos * Math.pow(theta, (-2 * i) / hd);
    const rotated = j < half ? -x[j + half]! : x[j - half]!;
    out[j] = x[j]! * Math.cos(angle) + rotated * Math.sin(angle);
  }
  return out;
}

const silu = (v: number): number => v / (1 + Math.exp(-v));

export function referenceForward(
  c: DecoderConfig,
  weights: DecoderWeights,
  inputIds: number[][],
  opts: ReferenceForwardOptions = {},
): ReferenceForwardResult {
  const B = inputIds.length;
  const S = inputIds[0]?.length ?? 0;
  if (inputIds.some((row) => row.length !== S)) throw new Error('inputIds rows must have equal length');
  const P = opts.past?.length ?? 0;
  const T = P + S;
  const { hiddenSize: D, headDim: hd, nHeads, nKvHeads, vocabSize: V } = c;
  const group = nHeads / nKvHeads;
  const positions = opts.positionIds ?? inputIds.map((row) => row.map((_, i) => P + i));
  const mask = opts.attentionMask ?? inputIds.map(() => new Array<number>(T).fill(1));
  if (mask.some((row) => row.length !== T)) throw new Error(`attentionMask rows must have length past + seq = ${T}`);

  const embed = get(weights, 'model.embed_tokens.weight');
  // hidden[b][s][d]
  const hidden: number[][][] = inputIds.map((row) =>
    row.map((tok) => {
      if (tok < 0 || tok >= V) throw new Error(`token id ${tok} out of range [0, ${V})`);
      return Array.from(embed.subarray(tok * D, (tok + 1) * D));
    }),
  );

  const presentLayers: LayerKv[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const p = layerPrefix(l);
    const wq = get(weights, `${p}.self_attn.q_proj.weight`);
    const wk = get(weights, `${p}.self_attn.k_proj.weight`);
    const wv = get(weights, `${p}.self_attn.v_proj.weight`);
    const wo = get(weights, `${p}.self_attn.o_proj.weight`);
    const key = new Float32Array(B * nKvHeads * T * hd);
    const value = new Float32Array(B * nKvHeads * T * hd);
    const at = (b: number, h: number, t: number): number => ((b * nKvHeads + h) * T + t) * hd;
    const past = opts.past?.layers[l];
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < nKvHeads; h++) {
        for (let t = 0; t < P; t++) {
          const src = ((b * nKvHeads + h) * P + t) * hd;
          key.set(past!.key.subarray(src, src + hd), at(b, h, t));
          value.set(past!.value.subarray(src, src + hd), at(b, h, t));
        }
      }
    }
    const queries: number[][][][] = []; // [b][s][head][hd]
    for (let b = 0; b < B; b++) {
      queries.push([]);
      for (let s = 0; s < S; s++) {
        const x = rmsNorm(hidden[b]![s]!, get(weights, `${p}.input_layernorm.weight`), c.normEps);
        const biased = (y: number[], role: string): number[] => {
          if (!c.qkvBias) return y;
          const bias = get(weights, `${p}.self_attn.${role}_proj.bias`);
          return y.map((value, i) => value + bias[i]!);
        };
        const q = biased(linear(x, wq, nHeads * hd), 'q');
        const k = biased(linear(x, wk, nKvHeads * hd), 'k');
        const v = biased(linear(x, wv, nKvHeads * hd), 'v');
        const pos = positions[b]![s]!;
        queries[b]!.push(Array.from({ length: nHeads }, (_, h) => rope(q.slice(h * hd, (h + 1) * hd), pos, c.ropeTheta)));
        for (let h = 0; h < nKvHeads; h++) {
          key.set(rope(k.slice(h * hd, (h + 1) * hd), pos, c.ropeTheta), at(b, h, P + s));
          value.set(v.slice(h * hd, (h + 1) * hd), at(b, h, P + s));
        }
      }
    }
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < S; s++) {
        const attnOut = new Array<number>(nHeads * hd).fill(0);
        for (let h = 0; h < nHeads; h++) {
          const kvh = Math.floor(h / group);
          const q = queries[b]![s]![h]!;
          const scores = new Array<number>(T);
          for (let t = 0; t < T; t++) {
            // Causal by cache index (query sits at P + s), padding by attention_mask.
            if (t > P + s || mask[b]![t] === 0) {
              scores[t] = MASKED_SCORE;
              continue;
            }
            let dot = 0;
            for (let d = 0; d < hd; d++) dot += q[d]! * key[at(b, kvh, t) + d]!;
            scores[t] = dot / Math.sqrt(hd);
          }
          const m = Math.max(...scores);
          const e = scores.map((v) => Math.exp(v - m));
          const z = e.reduce((a, v) => a + v, 0);
          for (let t = 0; t < T; t++) {
            for (let d = 0; d < hd; d++) attnOut[h * hd + d]! += (e[t]! / z) * value[at(b, kvh, t) + d]!;
          }
        }
        const o = linear(attnOut, wo, D);
        const h1 = hidden[b]![s]!.map((v, i) => v + o[i]!);
        const x = rmsNorm(h1, get(weights, `${p}.post_attention_layernorm.weight`), c.normEps);
        const gate = linear(x, get(weights, `${p}.mlp.gate_proj.weight`), c.ffnSize);
        const up = linear(x, get(weights, `${p}.mlp.up_proj.weight`), c.ffnSize);
        const act = gate.map((g, i) => silu(g) * up[i]!);
        const down = linear(act, get(weights, `${p}.mlp.down_proj.weight`), D);
        hidden[b]![s] = h1.map((v, i) => v + down[i]!);
      }
    }
    presentLayers.push({ key, value });
  }

  const norm = get(weights, 'model.norm.weight');
  const logits = hidden.map((row) =>
    row.map((h) => {
      const x = rmsNorm(h, norm, c.normEps);
      if (!c.tieEmbeddings) return linear(x, get(weights, 'lm_head.weight'), V);
      // Tied head: logits_v = x · embed[v].
      return Array.from({ length: V }, (_, v) => {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += x[d]! * embed[v * D + d]!;
        return dot;
      });
    }),
  );
  return { logits, present: { length: T, layers: presentLayers } };
}
