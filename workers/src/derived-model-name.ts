/**
 * The name of a model a step produced: its parent's name and the step's technique
 * (`ref-base → quantize.rtn-int8`), cut to MAX_MODEL_NAME characters so a long recipe or
 * a long base name cannot grow names without bound. The cut keeps the start (which
 * model) and the end (the latest step) and marks the gap.
 */
import { MAX_MODEL_NAME } from '@distillery/techniques';

export function derivedModelName(parent: string, techniqueId: string, max = MAX_MODEL_NAME): string {
  const full = `${parent} → ${techniqueId}`;
  const chars = [...full];
  if (chars.length <= max) return full;
  const tail = Math.min(chars.length, Math.floor((max - 1) / 2));
  const head = max - 1 - tail;
  return `${chars.slice(0, head).join('')}…${chars.slice(chars.length - tail).join('')}`;
}
