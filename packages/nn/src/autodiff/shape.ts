/**
 * Static-or-symbolic tensor shapes for the tracer. A symbolic dimension is a string such
 * as 'batch_size' or a product like '256*batch_size'; keeping products factored lets a
 * Reshape from [B*T, D] back to [B, T, D] infer B symbolically.
 */
export type SymDim = number | string;
export type Shape = readonly SymDim[];

interface Factored {
  coef: number;
  syms: string[];
}

function factor(d: SymDim): Factored {
  if (typeof d === 'number') return { coef: d, syms: [] };
  let coef = 1;
  const syms: string[] = [];
  for (const part of d.split('*')) {
    const n = Number(part);
    if (part !== '' && Number.isInteger(n)) coef *= n;
    else syms.push(part);
  }
  return { coef, syms: syms.sort() };
}

function unfactor(f: Factored): SymDim {
  if (f.syms.length === 0) return f.coef;
  return [...(f.coef !== 1 ? [String(f.coef)] : []), ...f.syms].join('*');
}

/** Canonical form, so 'b*2' and '2*b' compare equal. */
export function normDim(d: SymDim): SymDim {
  return unfactor(factor(d));
}

export function sameDim(a: SymDim, b: SymDim): boolean {
  return normDim(a) === normDim(b);
}

export function dimProduct(dims: Shape): SymDim {
  const out: Factored = { coef: 1, syms: [] };
  for (const d of dims) {
    const f = factor(d);
    out.coef *= f.coef;
    out.syms.push(...f.syms);
  }
  out.syms.sort();
  return unfactor(out);
}

/** a / b, exact; throws when b does not divide a. */
export function dimQuotient(a: SymDim, b: SymDim): SymDim {
  const fa = factor(a);
  const fb = factor(b);
  if (fb.coef === 0 || fa.coef % fb.coef !== 0) throw new Error(`dimension ${a} is not divisible by ${b}`);
  const syms = [...fa.syms];
  for (const s of fb.syms) {
    const i = syms.indexOf(s);
    if (i < 0) throw new Error(`dimension ${a} is not divisible by ${b}`);
    syms.splice(i, 1);
  }
  return unfactor({ coef: fa.coef / fb.coef, syms });
}

export function isStatic(shape: Shape): shape is readonly number[] {
  return shape.every((d) => typeof d === 'number');
}

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** Numpy-style broadcasting of two shapes (ONNX multidirectional broadcasting). */
export function broadcastShapes(a: Shape, b: Shape): SymDim[] {
  const r = Math.max(a.length, b.length);
  const out: SymDim[] = [];
  for (let i = 0; i < r; i++) {
    const da = i - (r - a.length) >= 0 ? a[i - (r - a.length)]! : 1;
    const db = i - (r - b.length) >= 0 ? b[i - (r - b.length)]! : 1;
    if (da === 1) out.push(db);
    else if (db === 1 || sameDim(da, db)) out.push(da);
    else if (typeof da === 'number' && typeof db === 'number') throw new Error(`cannot broadcast [${a}] with [${b}]`);
    // A symbolic dim against a concrete one: the concrete one must be what it is at run time.
    else out.push(typeof da === 'number' ? da : db);
  }
  return out;
}
