/**
 * Typed reads of GGUF metadata values: each names the key and what was found when the
 * value is missing, of the wrong type or not finite.
 */
import { GgufFormatError, GgufValueType } from './gguf-types';
import type { GgufHeader } from './gguf-reader';

const NUMERIC = new Set([
  GgufValueType.UINT8, GgufValueType.INT8, GgufValueType.UINT16, GgufValueType.INT16, GgufValueType.UINT32,
  GgufValueType.INT32, GgufValueType.FLOAT32, GgufValueType.FLOAT64, GgufValueType.UINT64, GgufValueType.INT64,
]);

export class GgufMetadataReader {
  constructor(private readonly header: GgufHeader) {}

  private fail(key: string, problem: string): never {
    throw new GgufFormatError(this.header.file, key, problem);
  }

  has(key: string): boolean {
    return this.header.metadata.has(key);
  }

  number(key: string): number;
  number(key: string, optional: true): number | undefined;
  number(key: string, optional?: true): number | undefined {
    const v = this.header.metadata.get(key);
    if (v === undefined) return optional ? undefined : this.fail(key, 'missing');
    if (v.type === GgufValueType.ARRAY) this.fail(key, 'is an array (per-layer values are not supported); expected one number');
    if (!NUMERIC.has(v.type)) this.fail(key, `expected a number, found ${GgufValueType[v.type]}`);
    const n = Number(v.value);
    if (!Number.isFinite(n)) this.fail(key, `${n} is not finite`);
    return n;
  }

  /** A positive integer that fits comfortably in memory arithmetic. */
  count(key: string): number;
  count(key: string, optional: true): number | undefined;
  count(key: string, optional?: true): number | undefined {
    const n = optional ? this.number(key, true) : this.number(key);
    if (n === undefined) return undefined;
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 31) this.fail(key, `${n} is not a positive integer below 2^31`);
    return n;
  }

  string(key: string): string;
  string(key: string, optional: true): string | undefined;
  string(key: string, optional?: true): string | undefined {
    const v = this.header.metadata.get(key);
    if (v === undefined) return optional ? undefined : this.fail(key, 'missing');
    if (v.type !== GgufValueType.STRING) this.fail(key, `expected a string, found ${GgufValueType[v.type]}`);
    return v.value;
  }

  bool(key: string): boolean | undefined {
    const v = this.header.metadata.get(key);
    if (v === undefined) return undefined;
    if (v.type !== GgufValueType.BOOL) this.fail(key, `expected a bool, found ${GgufValueType[v.type]}`);
    return v.value;
  }

  strings(key: string, optional?: true): string[] | undefined {
    const v = this.header.metadata.get(key);
    if (v === undefined) return optional ? undefined : this.fail(key, 'missing');
    if (v.type !== GgufValueType.ARRAY || v.elementType !== GgufValueType.STRING) this.fail(key, 'expected an array of strings');
    return v.value as string[];
  }

  numbers(key: string): number[] | undefined {
    const v = this.header.metadata.get(key);
    if (v === undefined) return undefined;
    if (v.type !== GgufValueType.ARRAY || !NUMERIC.has(v.elementType)) this.fail(key, 'expected an array of numbers');
    const out = v.value.map(Number);
    const bad = out.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) this.fail(key, `element ${bad} is ${out[bad]}, not finite`);
    return out;
  }
}
