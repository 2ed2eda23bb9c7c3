/**
 * A slow, loop-by-loop GPT-2 forward for one sequence (Radford et al. 2019, "Language Models
 * are Unsupervised Multitask Learners", sec. 2.3: GPT's decoder with LayerNorm moved to each
 * block's input and one after the last block), the yardstick the ONNX graph is tested against.
 */
import type { Gpt2Config, Gpt2Weights } from './gpt2-config';

/** The tanh approximation of GELU (Hendrycks & Gimpel 2016, sec. 2), HF's "gelu_new". */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

function layerNorm(x: number[], g: Float32Array, b: Float32Array, eps: number): number[] {
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * g[i]! + b[i]!);
}

/** x [in] times W [in, out] plus bias [out]. */
function linear(x: number[], w: Float32Array, bias: Float32Array): number[] {
  const out = Array.from(bias);
  for (let i = 0; i < x.length; i++) for (let o = 0; o < out.length; o++) out[o]! += x[i]! * w[i * out.length + o]!;
  return out;
}

/** Logits [seq][vocab] of `ids` at positions 0..seq-1. */
export function gpt2ReferenceForward(c: Gpt2Config, w: Gpt2Weights, ids: number[]): number[][] {
  const D = c.hiddenSize;
  const hd = c.headDim;
  const get = (name: string) => w.get(name)!;
  let h = ids.map((id, p) => Array.from({ length: D }, (_, d) => get('transformer.wte.weight')[id * D + d]! + get('transformer.wpe.weight')[p * D + d]!));
  for (let l = 0; l < c.nLayers; l++) {
    const p = `transformer.h.${l}`;
    const qkv = h.map((x) => linear(layerNorm(x, get(`${p}.ln_1.weight`), get(`${p}.ln_1.bias`), c.normEps), get(`${p}.attn.c_attn.weight`), get(`${p}.attn.c_attn.bias`)));
    const merged = qkv.map((row, t) => {
      const out = new Array<number>(D).fill(0);
      for (let head = 0; head < c.nHeads; head++) {
        const q = row.slice(head * hd, (head + 1) * hd);
        const scores = qkv.slice(0, t + 1).map((other) => q.reduce((s, v, j) => s + v * other[D + head * hd + j]!, 0) / Math.sqrt(hd));
        const max = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - max));
        const z = e.reduce((s, v) => s + v, 0);
        for (let u = 0; u <= t; u++) for (let j = 0; j < hd; j++) out[head * hd + j]! += (e[u]! / z) * qkv[u]![2 * D + head * hd + j]!;
      }
      return out;
    });
    h = h.map((x, t) => {
      const a = linear(merged[t]!, get(`${p}.attn.c_proj.weight`), get(`${p}.attn.c_proj.bias`));
      return x.map((v, d) => v + a[d]!);
    });
    h = h.map((x) => {
      const f = linear(layerNorm(x, get(`${p}.ln_2.weight`), get(`${p}.ln_2.bias`), c.normEps), get(`${p}.mlp.c_fc.weight`), get(`${p}.mlp.c_fc.bias`)).map(geluTanh);
      const m = linear(f, get(`${p}.mlp.c_proj.weight`), get(`${p}.mlp.c_proj.bias`));
      return x.map((v, d) => v + m[d]!);
    });
  }
  const wte = get('transformer.wte.weight');
  return h.map((x) => {
    const y = layerNorm(x, get('transformer.ln_f.weight'), get('transformer.ln_f.bias'), c.normEps);
    return Array.from({ length: c.vocabSize }, (_, v) => y.reduce((s, yv, d) => s + yv * wte[v * D + d]!, 0));
  });
}
