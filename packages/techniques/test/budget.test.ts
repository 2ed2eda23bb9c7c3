/**
 * Resource bounds before a run starts: absolute bounds in the parameter schemas, bounds
 * relative to the base model's shape (a student no larger than its teacher), and the
 * recipe plan against a worker's memory budget and time limit, each naming the field.
 */
import { describe, expect, it } from 'vitest';
import { decoderPreset, parameterCount, toHfConfig } from '@distillery/nn';
import {
  MAX_RECIPE_STEPS,
  parseRecipe,
  planRecipe,
  RecipeError,
  RecipeSchema,
  shapeFromStoredConfig,
  shapeOfDecoder,
  type WorkerBudget,
} from '../src';

const ref = decoderPreset('ref-5m');
const teacher = shapeOfDecoder(ref, 2);
const roomy: WorkerBudget = { memoryBytes: 64 * 2 ** 30, seconds: 30 * 24 * 3600, flopsPerSecond: 40e9 };

function problems(input: unknown): string[] {
  try {
    parseRecipe(input);
  } catch (e) {
    if (e instanceof RecipeError) return e.problems;
    throw e;
  }
  return [];
}

const kd = (params: Record<string, unknown>) => ({ steps: [{ technique: 'distill.kd', params }] });

describe('parameter bounds in the schemas', () => {
  it('refuses absurd step counts, learning rates and sizes, naming the field', () => {
    expect(problems(kd({ steps: 1e12 }))).toEqual(['steps[0].params.steps: steps must be at most 100,000']);
    expect(problems(kd({ lr: 1e308 }))).toEqual(['steps[0].params.lr: lr must be in [1e-10, 1]']);
    expect(problems(kd({ lr: 0 }))).toEqual(['steps[0].params.lr: lr must be in [1e-10, 1]']);
    expect(problems(kd({ batchSize: 100_000 }))).toEqual(['steps[0].params.batchSize: batchSize must be at most 256']);
    expect(problems(kd({ student: { layers: 100_000 } }))).toEqual(['steps[0].params.student.layers: layers must be at most 1024']);
    expect(problems({ steps: [{ technique: 'finetune.recover', params: { steps: 1e9, seqLen: 1e6 } }] })).toEqual([
      'steps[0].params.steps: steps must be at most 100,000',
      'steps[0].params.seqLen: seqLen must be at most 8192',
    ]);
    expect(problems({ steps: [{ technique: 'finetune.qat', params: { lr: Number.MAX_VALUE, seed: -1 } }] })).toEqual([
      'steps[0].params.lr: lr must be in [1e-10, 1]',
      'steps[0].params.seed: seed must be >= 0',
    ]);
    // Sane values still pass.
    expect(problems(kd({ steps: 100_000, lr: 1e-3, student: { layers: 2 } }))).toEqual([]);
  });

  it(`accepts at most ${MAX_RECIPE_STEPS} steps`, () => {
    const step = { technique: 'quantize.rtn-int8', params: {} };
    expect(RecipeSchema.safeParse({ steps: Array(MAX_RECIPE_STEPS).fill(step) }).success).toBe(true);
    expect(problems({ steps: Array(500).fill(step) })).toEqual([`steps: a recipe has at most ${MAX_RECIPE_STEPS} steps`]);
  });
});

describe('bounds relative to the base model', () => {
  const plan = (input: unknown, budget = roomy, shape = teacher) => planRecipe(parseRecipe(input), shape, budget);

  it('keeps a student no larger than its teacher in layers, width and heads', () => {
    expect(plan(kd({ student: { layers: 8 } })).problems).toEqual([
      { path: 'steps[0].params.student.layers', message: "student.layers (8) must not exceed the teacher's 4 layers: a student is no larger than its teacher" },
    ]);
    const wide = plan(kd({ student: { hiddenSize: 512, heads: 16, ffnSize: 4096 } })).problems.map((p) => p.path);
    expect(wide).toEqual(['steps[0].params.student.hiddenSize', 'steps[0].params.student.heads', 'steps[0].params.student.ffnSize']);
    // Fields left out take the teacher's values and must still fit together.
    expect(plan(kd({ student: { hiddenSize: 40 } })).problems).toEqual([
      { path: 'steps[0].params.student.heads', message: 'student.heads: hiddenSize / heads = 5 must be even for RoPE (defaulted from the teacher)' },
    ]);
    expect(plan(kd({ init: 'copy-layers', student: { layers: 2, ffnSize: 256 } })).problems.map((p) => p.path)).toEqual(['steps[0].params.student.ffnSize']);
    expect(plan(kd({ student: { layers: 2, hiddenSize: 128, heads: 4, kvHeads: 4 } })).problems).toEqual([]);
  });

  it('keeps windows within the context and topK within the vocabulary', () => {
    expect(plan(kd({ seqLen: 1024 })).problems.map((p) => p.path)).toEqual(['steps[0].params.seqLen']);
    expect(plan(kd({ teacherCache: { topK: 4096 } })).problems).toEqual([]);
    expect(plan({ steps: [{ technique: 'finetune.recover', params: { seqLen: 600 } }] }).problems[0]!.message).toBe(
      "seqLen (600) exceeds the model's context of 512 positions",
    );
    expect(plan({ steps: [{ technique: 'finetune.qat', params: { groupSize: 48 } }] }).problems[0]).toEqual({
      path: 'steps[0].params.groupSize',
      message: "groupSize (48) must divide the model's hidden size (256), the input rows of its projections",
    });
  });

  it('checks later steps against the shape earlier steps produce', () => {
    // After distilling to 2 layers, a second distillation may not ask for 3.
    const r = plan({ steps: [{ technique: 'distill.kd', params: { student: { layers: 2 } } }, { technique: 'distill.kd', params: { student: { layers: 3 } } }] });
    expect(r.problems.map((p) => p.path)).toEqual(['steps[1].params.student.layers']);
  });

  it('refuses a step estimated beyond the memory budget, and a run beyond the time limit', () => {
    const small: WorkerBudget = { ...roomy, memoryBytes: 256 * 2 ** 20 };
    const big = plan(kd({ batchSize: 64, seqLen: 512 }), small);
    expect(big.problems).toHaveLength(1);
    expect(big.problems[0]!.path).toBe('steps[0]');
    expect(big.problems[0]!.message).toMatch(/^distill\.kd needs an estimated [\d.]+ GB at its peak on this model, more than the worker's memory budget of 256 MB \(WORKER_MEMORY_BUDGET_MB\)/);

    const hour: WorkerBudget = { ...roomy, seconds: 3600 };
    const long = plan(kd({ steps: 100_000 }), hour);
    expect(long.problems).toHaveLength(1);
    expect(long.problems[0]!.path).toBe('steps[0].params.steps');
    expect(long.problems[0]!.message).toMatch(/^the run would take an estimated [\d.]+ h \(step 0 distill\.kd: [\d.]+ h, evaluation: [\d.]+ s\), more than the run time limit of 1\.0 h \(RUN_TIME_LIMIT_S\)$/);
    // Evaluation counts too: one token per window over a million tokens.
    const slowEval = plan({ steps: [{ technique: 'quantize.rtn-int8', params: {} }], eval: { maxTokens: 1_000_000, stride: 1 } }, hour);
    expect(slowEval.problems.map((p) => p.path)).toEqual(['eval']);

    const fine = plan(kd({ steps: 300, student: { layers: 2 } }), { memoryBytes: 4 * 2 ** 30, seconds: 3600, flopsPerSecond: 40e9 });
    expect(fine.problems).toEqual([]);
    expect(fine.seconds).toBeGreaterThan(0);
    expect(fine.steps[0]!.peakBytes).toBeLessThan(4 * 2 ** 30);
  });

  it('reads the shape from the config.json stored on the model row', () => {
    const shape = shapeFromStoredConfig({ tokenizerSha256: 'x', decoderConfig: toHfConfig(ref) }, parameterCount(ref) * 2);
    expect(shape).toEqual(teacher);
    expect(shapeFromStoredConfig({ tokenizerSha256: 'x' }, 100)).toBeNull();
    expect(shapeFromStoredConfig({ decoderConfig: { model_type: 'gpt2' } }, 100)).toBeNull();
    expect(shapeFromStoredConfig(null, 100)).toBeNull();
  });
});
