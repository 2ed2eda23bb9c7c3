/**
 * AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, "Decoupled Weight Decay
 * Regularization", ICLR 2019, Algorithm 2), over named Float32Array parameters, updated in
 * place with plain loops (the update is linear in the weights; see ARCHITECTURE.md).
 *
 * Learning-rate convention (the one PyTorch uses): with lr_t = alpha * eta_t from the schedule,
 *   theta <- theta - lr_t * ( mhat / (sqrt(vhat) + eps) + lambda * theta ),
 * i.e. the paper's decay factor eta_t * lambda_paper equals lr_t * lambda here.
 */
import type { ParamMap } from './types';

export interface AdamWOptions {
  /** Learning rate when no schedule is given (default 1e-3). */
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled decay coefficient lambda (default 0.01). */
  weightDecay?: number;
  /** Parameters exempt from weight decay (default: norms and biases; see `noDecayByName`). */
  noDecay?: (name: string) => boolean;
}

export type AdamWConfig = Required<Omit<AdamWOptions, 'noDecay'>> & { noDecay: (name: string) => boolean };

/** Moments per parameter and the shared step count t used for bias correction. */
export interface AdamWState {
  t: number;
  m: ParamMap;
  v: ParamMap;
}

/**
 * The usual no-decay rule for Llama weight names: RMSNorm gains (`*norm.weight`) and
 * biases are not decayed; embeddings (`embed_tokens`, and an untied `lm_head`) only if asked.
 */
export function noDecayByName(opts: { norms?: boolean; biases?: boolean; embeddings?: boolean } = {}): (name: string) => boolean {
  const { norms = true, biases = true, embeddings = false } = opts;
  return (name) =>
    (norms && /norm\.weight$/.test(name)) ||
    (biases && /\.bias$/.test(name)) ||
    (embeddings && /(^|\.)(embed_tokens|lm_head)\./.test(name));
}

export function adamwConfig(options: AdamWOptions = {}): AdamWConfig {
  const c: AdamWConfig = {
    lr: options.lr ?? 1e-3,
    beta1: options.beta1 ?? 0.9,
    beta2: options.beta2 ?? 0.999,
    eps: options.eps ?? 1e-8,
    weightDecay: options.weightDecay ?? 0.01,
    noDecay: options.noDecay ?? noDecayByName(),
  };
  if (!(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1)) throw new Error(`AdamW betas must be in [0, 1), got ${c.beta1}, ${c.beta2}`);
  if (!(c.eps > 0)) throw new Error(`AdamW eps must be > 0, got ${c.eps}`);
  if (!(c.weightDecay >= 0)) throw new Error(`AdamW weightDecay must be >= 0, got ${c.weightDecay}`);
  if (!(c.lr >= 0)) throw new Error(`AdamW lr must be >= 0, got ${c.lr}`);
  return c;
}

export class AdamW {
  readonly config: AdamWConfig;
  private t = 0;
  private readonly m: ParamMap = new Map();
  private readonly v: ParamMap = new Map();

  constructor(options: AdamWOptions = {}) {
    this.config = adamwConfig(options);
  }

  /**
   * One update of every parameter that has an entry in `grads` (the caller leaves frozen
   * ones out). Where `masks` has a 0 the weight and its moments are set to exactly 0 and
   * nothing else happens, so pruned weights cannot regrow through momentum or decay.
   */
  step(params: ParamMap, grads: ParamMap, lr: number, masks?: Map<string, Uint8Array>): void {
    const { beta1, beta2, eps, weightDecay, noDecay } = this.config;
    this.t += 1;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    for (const [name, g] of grads) {
      const p = params.get(name);
      if (!p) throw new Error(`AdamW: gradient for unknown parameter "${name}"`);
      if (g.length !== p.length) throw new Error(`AdamW: gradient of "${name}" has ${g.length} elements, parameter has ${p.length}`);
      const m = this.moment(this.m, name, p.length);
      const v = this.moment(this.v, name, p.length);
      const mask = masks?.get(name);
      if (mask && mask.length !== p.length) throw new Error(`AdamW: mask of "${name}" has ${mask.length} elements, parameter has ${p.length}`);
      // Hoisted constants: mhat / (sqrt(vhat) + eps) = m / bc1 / (sqrt(v) / sqrt(bc2) + eps).
      const keep = 1 - (noDecay(name) ? 0 : lr * weightDecay);
      const stepSize = lr / bc1;
      const invSqrtBc2 = 1 / Math.sqrt(bc2);
      const a1 = 1 - beta1;
      const a2 = 1 - beta2;
      for (let i = 0; i < p.length; i++) {
        if (mask !== undefined && mask[i] === 0) {
          p[i] = 0;
          m[i] = 0;
          v[i] = 0;
          continue;
        }
        const gi = g[i];
        const mi = beta1 * m[i] + a1 * gi;
        const vi = beta2 * v[i] + a2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * keep - (stepSize * mi) / (Math.sqrt(vi) * invSqrtBc2 + eps);
      }
    }
  }

  /** Live state (not a copy): a checkpoint writer copies the bytes it needs. */
  state(): AdamWState {
    return { t: this.t, m: this.m, v: this.v };
  }

  loadState(state: AdamWState): void {
    if (!Number.isInteger(state.t) || state.t < 0) throw new Error(`AdamW: invalid step count ${state.t}`);
    this.t = state.t;
    this.m.clear();
    this.v.clear();
    for (const [k, a] of state.m) this.m.set(k, Float32Array.from(a));
    for (const [k, a] of state.v) this.v.set(k, Float32Array.from(a));
  }

  private moment(store: ParamMap, name: string, n: number): Float32Array {
    let a = store.get(name);
    if (!a) {
      a = new Float32Array(n);
      store.set(name, a);
    } else if (a.length !== n) {
      throw new Error(`AdamW: stored moment of "${name}" has ${a.length} elements, parameter has ${n}`);
    }
    return a;
  }
}
