/**
 * distill.kd: train a (smaller) student decoder to match a teacher's next-token
 * distribution. Loss = alpha * T^2 KL(teacher_T || student_T) + (1 - alpha) * CE(labels)
 * (Hinton et al. 2015, "Distilling the Knowledge in a Neural Network", sec. 2); with
 * direction 'reverse' the KL is KL(student_T || teacher_T) (Gu et al. 2024, "MiniLLM",
 * eq. 1, used here at the token level). Optional hidden-state MSE through a learned
 * projection of each student block onto a teacher block (Romero et al. 2015, "FitNets",
 * sec. 2.2); the projections are dropped from the emitted student. alpha = 0 without
 * hiddenMse trains the same student on hard labels only and never runs the teacher,
 * which is the from-scratch baseline distillation is compared against.
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import {
  buildDecoder,
  createPrng,
  decoderWeightsFromModel,
  hiddenProjectionName,
  initDecoderWeights,
  parameterCount,
  readDecoderConfig,
  type DecoderConfig,
  type ParamMap,
} from '@distillery/nn';
import { throwIfCanceled } from '../canceled';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { checkTokens, indexedBatches, trainDecoder, type TeacherInputs } from '../finetune/decoder-training';
import { bounded, decoderConfigOfShape, shapeOfDecoder, type ModelShape, type ParamIssue, type StepEstimate } from '../budget';
import { estimateTraining } from '../step-estimates';
import { copyTeacherLayers, resolveStudentConfig, StudentShapeSchema, studentBudgetIssues, studentShapeIssues } from './student-shape';
import { openTeacher } from './teacher-logits';
import { logitsFromTopK, TopKCache, topKFromLogits } from './topk-cache';

export const kdParams = z
  .object({
    student: StudentShapeSchema.prefault({}),
    init: z.enum(['random', 'copy-layers']).default('random'),
    loss: z
      .object({
        alpha: z.number().min(0, 'alpha must be in [0, 1]').max(1, 'alpha must be in [0, 1]').default(0.5),
        temperature: z.number().positive('temperature must be positive').max(100, 'temperature must be at most 100').default(2),
        direction: z.enum(['forward', 'reverse']).default('forward'),
        hiddenMse: z.object({ weight: z.number().positive('hiddenMse.weight must be positive').max(1000, 'hiddenMse.weight must be at most 1000') }).strict().optional(),
      })
      .strict()
      .prefault({}),
    steps: bounded.steps(200),
    batchSize: bounded.batchSize(8),
    seqLen: bounded.seqLen(128),
    lr: bounded.lr(1e-3),
    warmup: bounded.warmup(20),
    seed: bounded.seed(0),
    teacherCache: z
      .object({ topK: z.number({ error: 'topK must be a number' }).int('topK must be an integer').positive('topK must be positive').max(4096, 'topK must be at most 4096') })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    for (const issue of studentShapeIssues(p.student)) ctx.addIssue({ code: 'custom', path: ['student', issue.field], message: issue.message });
    if (p.teacherCache && p.loss.hiddenMse) {
      ctx.addIssue({ code: 'custom', path: ['teacherCache'], message: 'teacherCache keeps only top-k logits; hiddenMse needs the live teacher (drop one of them)' });
    }
  });

export type KdParams = z.output<typeof kdParams>;

/** Student block s learns to match teacher block layerMap[s]. */
function hiddenLayerMap(student: DecoderConfig, teacher: DecoderConfig, copied: number[] | undefined): number[] {
  if (copied) return copied;
  // Evenly spaced by depth, last onto last: round((s + 1) * Lt / Ls) - 1.
  return Array.from({ length: student.nLayers }, (_, s) => Math.max(0, Math.round(((s + 1) * teacher.nLayers) / student.nLayers) - 1));
}

function initProjection(ds: number, dt: number, seed: number): Float32Array {
  const w = new Float32Array(ds * dt);
  if (ds === dt) {
    for (let i = 0; i < ds; i++) w[i * dt + i] = 1;
    return w;
  }
  const rng = createPrng(seed);
  const s = 1 / Math.sqrt(ds);
  for (let i = 0; i < w.length; i++) w[i] = rng.normal() * s;
  return w;
}

/** A student to start from instead of `params.student`/`params.init`: e.g. a pruned copy of the teacher (Minitron). */
export interface InitialStudent {
  config: DecoderConfig;
  weights: ParamMap;
}

export async function distillKd(teacher: Model, params: KdParams, ctx: TechniqueContext, initial?: InitialStudent): Promise<TechniqueResult> {
  const tokens = ctx.trainingTokens;
  if (!tokens) throw new Error('distill.kd needs training tokens (ctx.trainingTokens): the training text tokenized with the teacher\'s tokenizer');
  const teacherConfig = readDecoderConfig(teacher);
  if (!teacherConfig) throw new Error('distill.kd needs a teacher that carries its decoder config (a model built or imported by Distillery)');
  checkTokens(tokens, teacherConfig.vocabSize, 'distill.kd');
  const studentConfig = initial?.config ?? resolveStudentConfig(teacherConfig, params.student);
  if (params.seqLen > teacherConfig.maxPositions) throw new Error(`seqLen ${params.seqLen} exceeds the teacher's maxPositions ${teacherConfig.maxPositions}`);

  // Building the student: each phase below is bounded by the teacher's size, and a cancel is heard between them.
  ctx.onProgress(0, 'building the student');
  throwIfCanceled(ctx.signal, 'distill.kd');
  // The student is stored as the teacher is (float16 stays float16), so distilling never grows the file per parameter.
  const teacherWeights = decoderWeightsFromModel(teacher);
  throwIfCanceled(ctx.signal, 'distill.kd');
  let weights: ParamMap;
  let copied: number[] | undefined;
  if (initial) {
    weights = new Map([...initial.weights].map(([k, v]) => [k, Float32Array.from(v)]));
  } else if (params.init === 'copy-layers') {
    const fromTeacher = copyTeacherLayers(teacherConfig, teacherWeights.weights, studentConfig);
    weights = fromTeacher.weights;
    copied = fromTeacher.layers;
  } else {
    weights = initDecoderWeights(studentConfig, params.seed);
  }
  throwIfCanceled(ctx.signal, 'distill.kd');

  const { alpha, temperature, direction, hiddenMse } = params.loss;
  const usesTeacher = alpha > 0 || hiddenMse !== undefined;
  const layerMap = hiddenMse ? hiddenLayerMap(studentConfig, teacherConfig, copied) : [];
  if (hiddenMse) {
    layerMap.forEach((_, s) => weights.set(hiddenProjectionName(s), initProjection(studentConfig.hiddenSize, teacherConfig.hiddenSize, params.seed + 1 + s)));
  }

  const V = teacherConfig.vocabSize;
  let teacherInputs: TeacherInputs | undefined;
  let cache: TopKCache | undefined;
  let teacherRunner: Awaited<ReturnType<typeof openTeacher>> | undefined;
  let trainFrom = 0;
  try {
    if (usesTeacher) {
      teacherRunner = await openTeacher(teacher, { hiddenLayers: [...new Set(layerMap)] });
      throwIfCanceled(ctx.signal, 'distill.kd');
      if (params.teacherCache) {
        // Teacher pass first: the same seeded batch stream the training pass will draw.
        cache = await TopKCache.create(ctx.tempDir);
        const batches = indexedBatches(tokens, params);
        trainFrom = 0.3;
        for (let i = 0; i < params.steps; i++) {
          throwIfCanceled(ctx.signal, 'distill.kd');
          const b = batches.next();
          const out = await teacherRunner.run(b.batch);
          await cache.write(b.index, topKFromLogits(out.logits, V, params.teacherCache.topK, temperature));
          ctx.onProgress((trainFrom * (i + 1)) / params.steps, `teacher batch ${i + 1}/${params.steps}`);
        }
        await teacherRunner.release();
        teacherRunner = undefined;
        const c = cache;
        teacherInputs = async (b) => ({ teacherLogits: logitsFromTopK(await c.read(b.index), V, temperature) });
      } else {
        const runner = teacherRunner;
        const hiddenIndex = [...new Set(layerMap)];
        teacherInputs = async (b) => {
          const out = await runner.run(b.batch);
          return { teacherLogits: out.logits, teacherHidden: layerMap.map((t) => out.hidden[hiddenIndex.indexOf(t)]!) };
        };
      }
    }

    const run = await trainDecoder({
      config: studentConfig,
      params: weights,
      tokens,
      steps: params.steps,
      batchSize: params.batchSize,
      seqLen: params.seqLen,
      lr: params.lr,
      warmup: params.warmup,
      seed: params.seed,
      graph: {
        loss: alpha > 0 ? { kd: { alpha, temperature, direction } } : 'ce',
        ...(hiddenMse
          ? {
              hiddenMse: {
                layerMap: layerMap.map((t, s) => [s, t] as const),
                projection: true,
                teacherHiddenSize: teacherConfig.hiddenSize,
                weight: hiddenMse.weight,
              },
            }
          : {}),
      },
      // A KD graph declares teacher_logits even when only the hidden term needs the teacher.
      teacher: teacherInputs,
      ctx,
      progress: [trainFrom, 1],
    });

    const studentWeights: ParamMap = new Map([...run.params].filter(([name]) => !name.startsWith('distill.')));
    const model = buildDecoder(studentConfig, studentWeights, { weightDtype: teacherWeights.weightDtype });
    ctx.onProgress(1, 'done');
    return {
      model,
      report: {
        studentParams: parameterCount(studentConfig),
        teacherParams: parameterCount(teacherConfig),
        finalLoss: run.finalLoss,
        steps: run.steps,
        init: initial ? 'given' : params.init,
        ...(copied ? { copiedLayers: copied.join(',') } : {}),
        ...(hiddenMse ? { hiddenLayerMap: layerMap.join(',') } : {}),
        loss: alpha > 0 ? `kd-${direction}` : 'ce',
      },
    };
  } finally {
    await teacherRunner?.release();
    await cache?.dispose();
  }
}

/** What distill.kd's params ask of a teacher of this shape: a student no larger than it, windows within its context. */
export function checkKd(p: KdParams, teacher: ModelShape): ParamIssue[] {
  const issues = studentBudgetIssues(teacher, p.student, p.init);
  if (p.seqLen > teacher.maxPositions) issues.push({ path: ['seqLen'], message: `seqLen (${p.seqLen}) exceeds the teacher's context of ${teacher.maxPositions} positions` });
  if (p.teacherCache && p.teacherCache.topK > teacher.vocabSize) {
    issues.push({ path: ['teacherCache', 'topK'], message: `topK (${p.teacherCache.topK}) exceeds the teacher's vocabulary of ${teacher.vocabSize}` });
  }
  return issues;
}

export function estimateKd(p: KdParams, teacher: ModelShape): StepEstimate {
  const student = shapeOfDecoder(resolveStudentConfig(decoderConfigOfShape(teacher), p.student), Math.min(4, Math.max(2, teacher.bytesPerParameter)));
  const usesTeacher = p.loss.alpha > 0 || p.loss.hiddenMse !== undefined;
  return estimateTraining({
    model: student,
    ...(usesTeacher ? { teacher } : {}),
    input: teacher,
    batchSize: p.batchSize,
    seqLen: p.seqLen,
    steps: p.steps,
    evalPoints: 4,
    output: student,
  });
}

export const kd = defineTechnique({
  id: 'distill.kd',
  family: 'distill',
  title: 'Knowledge distillation into a smaller decoder',
  description:
    'Trains a student decoder (fewer layers or narrower, random or depth-pruned from the teacher) on the teacher\'s ' +
    'softened next-token distribution (forward or reverse KL) mixed with the hard-label loss, optionally matching ' +
    'hidden states through learned projections. Needs training text tokenized with the teacher\'s tokenizer.',
  params: kdParams,
  apply: distillKd,
  check: checkKd,
  estimate: estimateKd,
});
