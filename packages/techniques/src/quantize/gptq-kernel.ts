/**
 * The per-weight loops of GPTQ's inner lazy block (Frantar et al. 2022, Algorithm 1: a row
 * takes the scaled errors of the block's earlier rows, then is rounded) as WebAssembly SIMD
 * kernels built by kit/wasm-encode, over a layer's weights held in the kernel's memory.
 * Each computes exactly what the plain TS loops below compute (the same float64
 * expressions in the same order, the same float32 roundings), so results are bit-identical
 * to them; the TS loops also serve the last `cols % 4` columns.
 */
import { quantizeCode } from '../kit/quantizer';
import { encodeModule, op, simd, sleb, uleb, v, ValType, type FuncDef } from '../kit/wasm-encode';

const { i32, f32, f64, v128 } = ValType;
const get = (i: number) => [op.localGet, ...uleb(i)];
const set = (i: number) => [op.localSet, ...uleb(i)];
const i32c = (n: number) => [op.i32Const, ...sleb(n)];
const mem = (offset = 0) => [0, ...uleb(offset)]; // align hint 0, offset
/** `local[i] += step` */
const bump = (i: number, step: number[]) => [...get(i), ...step, op.i32Add, ...set(i)];
/** A loop `while (!exit) body` (exit: instructions leaving an i32 that is true to stop). */
const whileNot = (exit: number[], body: number[]) => [op.block, op.empty, op.loop, op.empty, ...exit, op.brIf, 1, ...body, op.br, 0, op.end, op.end];
/** Two float32 lanes at `addr` promoted to float64. */
const load2 = (addr: number[]) => [...addr, ...v(simd.load64Zero, ...mem()), ...v(simd.f64x2PromoteLowF32x4)];
// Byte indices of i8x16.shuffle: the high 8 bytes twice; the low 8 bytes of each operand.
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
const LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

/**
 * take(dst, err, f, k, stride, n): the float32 row at dst takes the errors of the k rows
 * from `err` (rows `stride` bytes apart) with factors f[0..k): four error rows at a time
 * w - (((f0 e0 + f1 e1) + f2 e2) + f3 e3), then one at a time w - f e, in float64 over
 * the first n bytes, two columns per step.
 */
function takeFunc(): FuncDef {
  const [dst, err, f, k, stride, n] = [0, 1, 2, 3, 4, 5];
  const [i, c, a, f0, f1, f2, f3] = [6, 7, 8, 9, 10, 11, 12];
  const factor = (local: number, offset: number) => [...get(f), ...get(i), ...i32c(4), op.i32Mul, op.i32Add, op.f32Load, ...mem(offset), op.f64PromoteF32, ...v(simd.f64x2Splat), ...set(local)];
  const errAt = (row: number) => {
    const addr = [...get(a), ...get(c), op.i32Add];
    for (let t = 0; t < row; t++) addr.push(...get(stride), op.i32Add);
    return load2(addr);
  };
  const dstAt = [...get(dst), ...get(c), op.i32Add];
  const store = [...v(simd.f32x4DemoteF64x2Zero), ...v(simd.store64Lane, ...mem(), 0)];
  const four = [
    ...factor(f0, 0),
    ...factor(f1, 4),
    ...factor(f2, 8),
    ...factor(f3, 12),
    ...i32c(0),
    ...set(c),
    ...whileNot([...get(c), ...get(n), op.i32GeU], [
      ...dstAt,
      ...load2(dstAt),
      ...get(f0), ...errAt(0), ...v(simd.f64x2Mul),
      ...get(f1), ...errAt(1), ...v(simd.f64x2Mul), ...v(simd.f64x2Add),
      ...get(f2), ...errAt(2), ...v(simd.f64x2Mul), ...v(simd.f64x2Add),
      ...get(f3), ...errAt(3), ...v(simd.f64x2Mul), ...v(simd.f64x2Add),
      ...v(simd.f64x2Sub),
      ...store,
      ...bump(c, i32c(8)),
    ]),
    ...bump(i, i32c(4)),
    ...bump(a, [...get(stride), ...i32c(4), op.i32Mul]),
  ];
  const one = [
    ...factor(f0, 0),
    ...i32c(0),
    ...set(c),
    ...whileNot([...get(c), ...get(n), op.i32GeU], [...dstAt, ...load2(dstAt), ...get(f0), ...errAt(0), ...v(simd.f64x2Mul), ...v(simd.f64x2Sub), ...store, ...bump(c, i32c(8))]),
    ...bump(i, i32c(1)),
    ...bump(a, get(stride)),
  ];
  const body = [...get(err), ...set(a), ...whileNot([...get(i), ...i32c(4), op.i32Add, ...get(k), op.i32GtU], four), ...whileNot([...get(i), ...get(k), op.i32GeU], one)];
  return { name: 'take', params: [i32, i32, i32, i32, i32, i32], results: [], locals: [i32, i32, i32, v128, v128, v128, v128], body };
}

/**
 * quant(src, deq, codes, scale, zero, n, d, qmax) -> Σ e²: the float32 row at src rounded
 * on the grid (scale, zero as float32 per column): q = clamp(roundeven(x / s) + z, 0, qmax)
 * in float32, ŵ = (q - z) s, codes as bytes, and e = (x - ŵ) / d in float64 written over
 * src as float32; four columns per step over the first n bytes.
 */
function quantFunc(): FuncDef {
  const [src, deq, codes, scale, zero, n, d, qmax] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [c, x, s, z, q, dq, e0, e1, acc, dd, qm] = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18];
  const at = (base: number) => [...get(base), ...get(c), op.i32Add];
  const load = (base: number, local: number) => [...at(base), ...v(simd.load, ...mem()), ...set(local)];
  const promoteHigh = (local: number) => [...get(local), ...get(local), ...v(simd.shuffle, ...HIGH_HALF), ...v(simd.f64x2PromoteLowF32x4)];
  const promoteLow = (local: number) => [...get(local), ...v(simd.f64x2PromoteLowF32x4)];
  const square = (local: number) => [...get(acc), ...get(local), ...get(local), ...v(simd.f64x2Mul), ...v(simd.f64x2Add), ...set(acc)];
  const body = [
    ...get(d), ...v(simd.f64x2Splat), ...set(dd),
    ...get(qmax), ...v(simd.f32x4Splat), ...set(qm),
    ...whileNot([...get(c), ...get(n), op.i32GeU], [
      ...load(src, x),
      ...load(scale, s),
      ...load(zero, z),
      ...get(x), ...get(s), ...v(simd.f32x4Div), ...v(simd.f32x4Nearest), ...get(z), ...v(simd.f32x4Add),
      ...v(simd.const, ...new Array<number>(16).fill(0)), ...v(simd.f32x4Max), ...get(qm), ...v(simd.f32x4Min), ...set(q),
      ...get(q), ...get(z), ...v(simd.f32x4Sub), ...get(s), ...v(simd.f32x4Mul), ...set(dq),
      ...at(deq), ...get(dq), ...v(simd.store, ...mem()),
      ...get(codes), ...get(c), ...i32c(2), op.i32ShrU, op.i32Add,
      ...get(q), ...v(simd.i32x4TruncSatF32x4U), ...get(q), ...v(simd.i32x4TruncSatF32x4U), ...v(simd.i16x8NarrowI32x4U),
      op.localTee, ...uleb(q), ...get(q), ...v(simd.i8x16NarrowI16x8U), ...v(simd.store32Lane, ...mem(), 0),
      ...promoteLow(x), ...promoteLow(dq), ...v(simd.f64x2Sub), ...get(dd), ...v(simd.f64x2Div), ...set(e0),
      ...promoteHigh(x), ...promoteHigh(dq), ...v(simd.f64x2Sub), ...get(dd), ...v(simd.f64x2Div), ...set(e1),
      ...at(src), ...get(e0), ...v(simd.f32x4DemoteF64x2Zero), ...get(e1), ...v(simd.f32x4DemoteF64x2Zero), ...v(simd.shuffle, ...LOW_HALVES), ...v(simd.store, ...mem()),
      ...square(e0),
      ...square(e1),
      ...bump(c, i32c(16)),
    ]),
    ...get(acc), ...v(simd.f64x2ExtractLane, 0), ...get(acc), ...v(simd.f64x2ExtractLane, 1), op.f64Add,
  ];
  return { name: 'quant', params: [i32, i32, i32, i32, i32, i32, f64, f32], results: [f64], locals: [i32, v128, v128, v128, v128, v128, v128, v128, v128, v128, v128], body };
}

let compiled: WebAssembly.Module | undefined;
const moduleBytes = () => encodeModule([takeFunc(), quantFunc()]);
function wasmModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(moduleBytes());
  return compiled;
}

/** The rows [e0, e1) of `err` scaled by f[i - e0], taken from row r of `wp` over columns [c0, cols) (the TS form of `take`). */
export function takeErrorsTs(wp: Float32Array, err: Float32Array, f: Float32Array, cols: number, e0: number, e1: number, r: number, c0: number): void {
  const dst = r * cols;
  let i = e0;
  for (; i + 4 <= e1; i += 4) {
    const [f0, f1, f2, f3] = [f[i - e0]!, f[i - e0 + 1]!, f[i - e0 + 2]!, f[i - e0 + 3]!];
    const a0 = i * cols;
    const a1 = a0 + cols;
    const a2 = a1 + cols;
    const a3 = a2 + cols;
    for (let c = c0; c < cols; c++) wp[dst + c] = wp[dst + c]! - (f0 * err[a0 + c]! + f1 * err[a1 + c]! + f2 * err[a2 + c]! + f3 * err[a3 + c]!);
  }
  for (; i < e1; i++) {
    const fi = f[i - e0]!;
    const a = i * cols;
    for (let c = c0; c < cols; c++) wp[dst + c]! -= fi * err[a + c]!;
  }
}

/** Row r rounded over columns [c0, cols) (the TS form of `quant`); errors overwrite the row; returns Σ e². */
export function quantizeRowTs(wp: Float32Array, codes: Uint8Array, deq: Float32Array, r: number, cols: number, c0: number, scale: Float32Array, zero: Float32Array, qmax: number, d: number): number {
  const row = r * cols;
  let sum = 0;
  for (let c = c0; c < cols; c++) {
    const x = wp[row + c]!;
    const s = scale[c]!;
    const z = zero[c]!;
    const q = quantizeCode(x, s, z, qmax);
    const dq = Math.fround((q - z) * s);
    codes[row + c] = q;
    deq[row + c] = dq;
    const e = (x - dq) / d;
    wp[row + c] = e;
    sum += e * e;
  }
  return sum;
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

/**
 * One released kernel kept for the next layer of the same shape: a fresh memory costs a
 * page fault per 4 KiB on first touch, about as much as the loops themselves. Only small
 * ones are kept, so a large layer's memory is not held between calls.
 */
const KEEP_BYTES = 64 << 20;
let spare: GptqKernel | undefined;

/**
 * A [rows, cols] layer's working arrays in one WebAssembly memory: `wp` (weights, then
 * each quantized row's scaled errors), `deq`, `codes`, `h` (room for the [rows, rows]
 * Hessian and its inverse factor), and the kernels over them. One per
 * call: concurrent calls never share memory.
 */
export class GptqKernel {
  readonly wp: Float32Array;
  readonly deq: Float32Array;
  readonly codes: Uint8Array;
  readonly h: Float32Array;
  private readonly scale: Float32Array;
  private readonly zero: Float32Array;
  private readonly factors: Float32Array;
  private readonly take: (dst: number, err: number, f: number, k: number, stride: number, n: number) => void;
  private readonly quant: (src: number, deq: number, codes: number, scale: number, zero: number, n: number, d: number, qmax: number) => number;
  /** Columns the kernels cover (a multiple of 4); the TS loops take the rest. */
  private readonly c4: number;
  private grid: { scale: Float32Array; zero: Uint8Array } | undefined;

  /** A kernel for a [rows, cols] layer: the spare one if its shape matches, else a new one. Give it back with `release`. */
  static acquire(rows: number, cols: number): GptqKernel {
    const k = spare && spare.rows === rows && spare.cols === cols ? spare : new GptqKernel(rows, cols);
    if (k === spare) spare = undefined;
    k.grid = undefined;
    return k;
  }

  /** Done with every array of this kernel (results were copied out). */
  release(): void {
    if (this.bytes <= KEEP_BYTES) spare = this;
  }

  private readonly bytes: number;

  private constructor(
    readonly rows: number,
    readonly cols: number,
  ) {
    const w = align16(rows * cols * 4);
    const sizes = [w, w, align16(rows * cols), align16(cols * 4), align16(cols * 4), align16(rows * 4), rows * rows * 4];
    const bytes = sizes.reduce((a, b) => a + b, 0);
    this.bytes = bytes;
    const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
    const exports = new WebAssembly.Instance(wasmModule(), { env: { memory } }).exports as Record<string, unknown>;
    this.take = exports.take as GptqKernel['take'];
    this.quant = exports.quant as GptqKernel['quant'];
    const buf = memory.buffer;
    const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    this.wp = new Float32Array(buf, offsets[0], rows * cols);
    this.deq = new Float32Array(buf, offsets[1], rows * cols);
    this.codes = new Uint8Array(buf, offsets[2], rows * cols);
    this.scale = new Float32Array(buf, offsets[3], cols);
    this.zero = new Float32Array(buf, offsets[4], cols);
    this.factors = new Float32Array(buf, offsets[5], rows);
    this.h = new Float32Array(buf, offsets[6], rows * rows);
    this.c4 = cols - (cols % 4);
  }

  /** Row r takes the scaled errors of rows [e0, e1) with the factors U[i, r] (u row-major [rows, rows]). */
  takeErrors(u: Float32Array, e0: number, e1: number, r: number): void {
    if (e1 <= e0) return;
    const { rows, cols, factors, wp } = this;
    for (let i = e0; i < e1; i++) factors[i - e0] = u[i * rows + r]!;
    this.take(wp.byteOffset + r * cols * 4, wp.byteOffset + e0 * cols * 4, factors.byteOffset, e1 - e0, cols * 4, this.c4 * 4);
    if (this.c4 < cols) takeErrorsTs(wp, wp, factors, cols, e0, e1, r, this.c4);
  }

  /** Row r rounded on `grid` with divisor d = U_rr; returns Σ e² / 2. */
  quantizeRow(r: number, grid: { scale: Float32Array; zero: Uint8Array }, qmax: number, d: number): number {
    const { cols, wp } = this;
    if (grid !== this.grid) {
      this.scale.set(grid.scale);
      this.zero.set(grid.zero);
      this.grid = grid;
    }
    const at = r * cols;
    let sum = this.quant(wp.byteOffset + at * 4, this.deq.byteOffset + at * 4, this.codes.byteOffset + at, this.scale.byteOffset, this.zero.byteOffset, this.c4 * 4, d, qmax);
    if (this.c4 < cols) sum += quantizeRowTs(wp, this.codes, this.deq, r, cols, this.c4, this.scale, this.zero, qmax, d);
    return sum / 2;
  }
}

/** The module's bytes (for tests: they must validate). */
export const gptqKernelBytes = moduleBytes;
