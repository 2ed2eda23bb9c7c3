/** Lookup of techniques by id; recipes and workers resolve step names through it. */
import type { AnyTechnique, Technique } from './technique';
import type { z } from 'zod';
import { rtnInt8 } from './quantize/rtn-int8';
import { rtn } from './quantize/rtn';
import { dynamicInt8 } from './quantize/dynamic-int8';
import { bf16, fp16 } from './quantize/float-storage';
import { kd } from './distill/kd';
import { recover } from './finetune/recover';
import { qat } from './finetune/qat';
import { lora } from './finetune/lora';
import { mixed } from './quantize/mixed';
import { gptqTechnique } from './quantize/gptq-technique';
import { awqTechnique } from './quantize/awq-technique';
import { hqqTechnique } from './quantize/hqq-technique';
import { smoothQuantTechnique } from './quantize/smoothquant-technique';
import { pruneBlocksTechnique } from './prune/blocks';
import { ffnChannelsTechnique } from './prune/ffn-channels';
import { headsTechnique } from './prune/attention-heads';
import { widthTechnique } from './prune/embedding-width';
import { pruneMagnitudeTechnique } from './prune/magnitude';
import { pruneWandaTechnique } from './prune/wanda';
import { pruneSparseGptTechnique } from './prune/sparsegpt';
import { svdTechnique } from './lowrank/svd-truncation';
import { asvdTechnique } from './lowrank/asvd';
import { svdLlmTechnique } from './lowrank/svd-llm';
import { kmeansTechnique } from './share/kmeans-technique';
import { hashingTechnique } from './share/hashing';

export class TechniqueRegistry {
  private readonly byId = new Map<string, AnyTechnique>();

  constructor(techniques: Iterable<AnyTechnique> = []) {
    for (const t of techniques) this.register(t);
  }

  register<S extends z.ZodType>(t: Technique<S>): void {
    if (this.byId.has(t.id)) throw new Error(`technique "${t.id}" is already registered`);
    this.byId.set(t.id, t as unknown as AnyTechnique);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): AnyTechnique {
    const t = this.byId.get(id);
    if (!t) {
      const known = [...this.byId.keys()].sort();
      throw new Error(`unknown technique "${id}"; known techniques: ${known.length ? known.join(', ') : '(none)'}`);
    }
    return t;
  }

  /** Sorted by id so listings are stable. */
  list(): AnyTechnique[] {
    return [...this.byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  }
}

/** The built-in techniques. New methods are added to this list. */
export const registry = new TechniqueRegistry([
  rtnInt8 as unknown as AnyTechnique,
  rtn as unknown as AnyTechnique,
  dynamicInt8 as unknown as AnyTechnique,
  fp16 as unknown as AnyTechnique,
  bf16 as unknown as AnyTechnique,
  kd as unknown as AnyTechnique,
  recover as unknown as AnyTechnique,
  qat as unknown as AnyTechnique,
  lora as unknown as AnyTechnique,
  mixed as unknown as AnyTechnique,
  gptqTechnique as unknown as AnyTechnique,
  awqTechnique as unknown as AnyTechnique,
  hqqTechnique as unknown as AnyTechnique,
  smoothQuantTechnique as unknown as AnyTechnique,
  pruneBlocksTechnique as unknown as AnyTechnique,
  ffnChannelsTechnique as unknown as AnyTechnique,
  headsTechnique as unknown as AnyTechnique,
  widthTechnique as unknown as AnyTechnique,
  pruneMagnitudeTechnique as unknown as AnyTechnique,
  pruneWandaTechnique as unknown as AnyTechnique,
  pruneSparseGptTechnique as unknown as AnyTechnique,
  svdTechnique as unknown as AnyTechnique,
  asvdTechnique as unknown as AnyTechnique,
  svdLlmTechnique as unknown as AnyTechnique,
  kmeansTechnique as unknown as AnyTechnique,
  hashingTechnique as unknown as AnyTechnique,
]);
