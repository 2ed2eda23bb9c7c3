/**
 * A minimal WebAssembly binary encoder (WebAssembly Core Specification 2.0, §5 "Binary
 * Format", with the fixed-width SIMD instructions of §5.4.8): enough to build small numeric
 * kernels in code, so their bytes come from this repository's source with no toolchain.
 * Functions take and return plain numbers; the module imports one memory as env.memory.
 */

/** Unsigned LEB128 (§5.2.2). */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** Value types (§5.3.1). */
export const ValType = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b } as const;
export type ValType = (typeof ValType)[keyof typeof ValType];

/** Opcodes used by the kernels (§5.4). */
export const op = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  f32Load: 0x2a,
  i32Const: 0x41,
  i32GtU: 0x4b,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Mul: 0x6c,
  i32ShrU: 0x76,
  f64Add: 0xa0,
  f64PromoteF32: 0xbb,
  empty: 0x40,
} as const;

/** SIMD opcodes (prefix 0xfd, §5.4.8). */
export const simd = {
  load: 0x00,
  store: 0x0b,
  shuffle: 0x0d,
  const: 0x0c,
  f32x4Splat: 0x13,
  f64x2Splat: 0x14,
  f64x2ExtractLane: 0x21,
  store32Lane: 0x5a,
  store64Lane: 0x5b,
  load64Zero: 0x5d,
  f32x4DemoteF64x2Zero: 0x5e,
  f64x2PromoteLowF32x4: 0x5f,
  i8x16NarrowI16x8U: 0x66,
  f32x4Nearest: 0x6a,
  i16x8NarrowI32x4U: 0x86,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f32x4Min: 0xe8,
  f32x4Max: 0xe9,
  f64x2Add: 0xf0,
  f64x2Sub: 0xf1,
  f64x2Mul: 0xf2,
  f64x2Div: 0xf3,
  i32x4TruncSatF32x4U: 0xf9,
} as const;

/** One SIMD instruction; memory instructions take a memarg (align log2, offset) and lane instructions a lane. */
export function v(code: number, ...immediates: number[]): number[] {
  return [0xfd, ...uleb(code), ...immediates];
}

export interface FuncDef {
  name: string;
  params: ValType[];
  results: ValType[];
  /** Extra locals after the parameters, in order. */
  locals: ValType[];
  /** The body's instructions, without the final `end`. */
  body: number[];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

const utf8 = (s: string) => [...new TextEncoder().encode(s)];
const name = (s: string) => [...uleb(utf8(s).length), ...utf8(s)];

/** A module importing env.memory (at least `minPages` pages) and exporting the functions by name. */
export function encodeModule(funcs: FuncDef[], minPages = 1): Uint8Array<ArrayBuffer> {
  const types = section(1, vec(funcs.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))])));
  const imports = section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(minPages)]]));
  const functions = section(3, vec(funcs.map((_, i) => uleb(i))));
  const exports = section(7, vec(funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)])));
  const bodies = funcs.map((f) => {
    const locals = vec(f.locals.map((t) => [1, t]));
    const code = [...locals, ...f.body, op.end];
    return [...uleb(code.length), ...code];
  });
  const code = section(10, vec(bodies));
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imports, ...functions, ...exports, ...code]);
}
