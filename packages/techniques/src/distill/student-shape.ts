/**
 * The student's shape in distill.kd: each field optional (default: the teacher's),
 * checked against the others with errors that name the field, and depth-pruned
 * initialisation that copies an evenly spaced subset of the teacher's blocks.
 */
import { z } from 'zod';
import { layerPrefix, parseDecoderConfig, type DecoderConfig, type DecoderWeights } from '@distillery/nn';
import { decoderConfigOfShape, type ModelShape, type ParamIssue } from '../budget';

const dim = (field: string, max: number) =>
  z.number({ error: `${field} must be a number` }).int(`${field} must be an integer`).positive(`${field} must be positive`).max(max, `${field} must be at most ${max}`);

export const StudentShapeSchema = z
  .object({
    // Absolute caps; studentBudgetIssues also keeps every field within the teacher's.
    layers: dim('layers', 1024).optional(),
    hiddenSize: dim('hiddenSize', 65_536).optional(),
    heads: dim('heads', 1024).optional(),
    kvHeads: dim('kvHeads', 1024).optional(),
    ffnSize: dim('ffnSize', 262_144).optional(),
  })
  .strict();

export type StudentShape = z.output<typeof StudentShapeSchema>;

export interface ShapeIssue {
  field: keyof StudentShape;
  message: string;
}

/** Consistency problems among the fields that are present (missing ones are not checked). */
export function studentShapeIssues(s: StudentShape): ShapeIssue[] {
  const issues: ShapeIssue[] = [];
  if (s.hiddenSize !== undefined && s.heads !== undefined) {
    if (s.hiddenSize % s.heads !== 0) issues.push({ field: 'heads', message: `heads (${s.heads}) must divide hiddenSize (${s.hiddenSize})` });
    // RoPE rotates pairs of dimensions, so each head's size must be even.
    else if ((s.hiddenSize / s.heads) % 2 !== 0) issues.push({ field: 'heads', message: `hiddenSize / heads = ${s.hiddenSize / s.heads} must be even for RoPE` });
  }
  if (s.heads !== undefined && s.kvHeads !== undefined && s.heads % s.kvHeads !== 0) {
    issues.push({ field: 'kvHeads', message: `kvHeads (${s.kvHeads}) must divide heads (${s.heads})` });
  }
  return issues;
}

const TEACHER_FIELD: Record<keyof StudentShape, { of: keyof ModelShape; what: string }> = {
  layers: { of: 'layers', what: 'layers' },
  hiddenSize: { of: 'hiddenSize', what: 'hidden size' },
  heads: { of: 'heads', what: 'attention heads' },
  kvHeads: { of: 'kvHeads', what: 'key/value heads' },
  ffnSize: { of: 'ffnSize', what: 'FFN size' },
};

/**
 * A student is no larger than its teacher in any dimension, is consistent once the
 * missing fields take the teacher's values, and copies blocks only at the teacher's widths.
 * Paths are relative to distill.kd's params.
 */
export function studentBudgetIssues(teacher: ModelShape, s: StudentShape, init: 'random' | 'copy-layers'): ParamIssue[] {
  const issues: ParamIssue[] = [];
  for (const field of Object.keys(TEACHER_FIELD) as (keyof StudentShape)[]) {
    const value = s[field];
    const { of, what } = TEACHER_FIELD[field];
    const limit = teacher[of] as number;
    if (value !== undefined && value > limit) {
      issues.push({ path: ['student', field], message: `student.${field} (${value}) must not exceed the teacher's ${limit} ${what}: a student is no larger than its teacher` });
    }
    if (init === 'copy-layers' && field !== 'layers' && value !== undefined && value !== limit) {
      issues.push({ path: ['student', field], message: `init 'copy-layers' copies teacher blocks, so student.${field} must be the teacher's ${limit} (use init 'random' for a narrower student)` });
    }
  }
  if (issues.length) return issues;
  for (const i of studentShapeIssues(completeStudentShape(decoderConfigOfShape(teacher), s))) {
    issues.push({ path: ['student', i.field], message: `student.${i.field}: ${i.message}${s[i.field] === undefined ? ' (defaulted from the teacher)' : ''}` });
  }
  return issues;
}

/** Every field of the student's shape, the teacher's where the student leaves one out. */
function completeStudentShape(teacher: DecoderConfig, s: StudentShape): Required<StudentShape> {
  return {
    layers: s.layers ?? teacher.nLayers,
    hiddenSize: s.hiddenSize ?? teacher.hiddenSize,
    heads: s.heads ?? teacher.nHeads,
    kvHeads: s.kvHeads ?? teacher.nKvHeads,
    ffnSize: s.ffnSize ?? teacher.ffnSize,
  };
}

/** The student's decoder config: vocabulary, context, RoPE and norm settings follow the teacher. */
export function resolveStudentConfig(teacher: DecoderConfig, s: StudentShape): DecoderConfig {
  const full = completeStudentShape(teacher, s);
  const issues = studentShapeIssues(full);
  if (issues.length) {
    const defaulted = (f: keyof StudentShape) => (s[f] === undefined ? ' (defaulted from the teacher)' : '');
    throw new Error(`invalid student shape: ${issues.map((i) => `student.${i.field}: ${i.message}${defaulted(i.field)}`).join('; ')}`);
  }
  return parseDecoderConfig({
    ...teacher,
    nLayers: full.layers,
    hiddenSize: full.hiddenSize,
    nHeads: full.heads,
    nKvHeads: full.kvHeads,
    headDim: full.hiddenSize / full.heads,
    ffnSize: full.ffnSize,
  });
}

/** n indices spread evenly over 0..total-1, first and last included (n = 1 keeps block 0). */
export function evenlySpacedLayers(n: number, total: number): number[] {
  if (n > total) throw new Error(`cannot pick ${n} of ${total} layers`);
  if (n === 1) return [0];
  return Array.from({ length: n }, (_, i) => Math.round((i * (total - 1)) / (n - 1)));
}

/**
 * Depth pruning (as in DistilBERT's initialisation, Sanh et al. 2019, sec. 3): the
 * student is the teacher with only some blocks kept. Widths must match exactly.
 */
export function copyTeacherLayers(teacher: DecoderConfig, teacherWeights: DecoderWeights, student: DecoderConfig): { weights: DecoderWeights; layers: number[] } {
  const mismatched: string[] = [];
  if (student.hiddenSize !== teacher.hiddenSize) mismatched.push(`student.hiddenSize ${student.hiddenSize} != ${teacher.hiddenSize}`);
  if (student.nHeads !== teacher.nHeads) mismatched.push(`student.heads ${student.nHeads} != ${teacher.nHeads}`);
  if (student.nKvHeads !== teacher.nKvHeads) mismatched.push(`student.kvHeads ${student.nKvHeads} != ${teacher.nKvHeads}`);
  if (student.ffnSize !== teacher.ffnSize) mismatched.push(`student.ffnSize ${student.ffnSize} != ${teacher.ffnSize}`);
  if (student.nLayers > teacher.nLayers) mismatched.push(`student.layers ${student.nLayers} > teacher's ${teacher.nLayers}`);
  if (mismatched.length) {
    throw new Error(`init 'copy-layers' copies teacher blocks, so the student must have the teacher's widths and at most its depth: ${mismatched.join('; ')} (use init 'random' for a narrower student)`);
  }
  const layers = evenlySpacedLayers(student.nLayers, teacher.nLayers);
  const weights: DecoderWeights = new Map();
  for (const [name, w] of teacherWeights) {
    if (!name.startsWith('model.layers.')) weights.set(name, Float32Array.from(w));
  }
  layers.forEach((src, dst) => {
    const from = `${layerPrefix(src)}.`;
    for (const [name, w] of teacherWeights) {
      if (name.startsWith(from)) weights.set(`${layerPrefix(dst)}.${name.slice(from.length)}`, Float32Array.from(w));
    }
  });
  return { weights, layers };
}
