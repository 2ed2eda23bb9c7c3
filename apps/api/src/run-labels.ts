/**
 * Tags and step parameters as run filters. Both are answered by GIN indexes: tags by
 * array containment (`tags @> ARRAY[...]`), parameters by JSON containment of a step's
 * params (`params @> '{"bits": 4}'`), so a sweep's or leaderboard's filter stays an index
 * lookup however many runs a project holds.
 */
import type { Prisma, PrismaClient } from '@distillery/db';
import { z } from 'zod';
import { parseInput } from './errors';

export const MAX_TAGS = 32;

const TagSchema = z
  .string()
  .trim()
  .min(1, 'a tag cannot be empty')
  .max(64, 'a tag is at most 64 characters')
  .regex(/^[^\p{Cc}]+$/u, 'a tag cannot contain control characters');

export const TagsSchema = z
  .array(TagSchema)
  .max(MAX_TAGS, `at most ${MAX_TAGS} tags`)
  .transform((tags) => [...new Set(tags)]);

/** A step parameter: a dotted path into a step's params and the JSON value it must equal. */
export interface ParamFilter {
  path: string;
  equals: unknown;
  technique?: string | null;
}

const PathSchema = z
  .string()
  .min(1, 'the path cannot be empty')
  .max(200)
  .refine((p) => p.split('.').every((k) => k.length > 0), 'dotted keys, none empty (e.g. "student.layers")');

/** `{path: "student.layers", equals: 2}` as the containment document `{"student": {"layers": 2}}`. */
export function containmentOf(path: string, equals: unknown): Record<string, unknown> {
  const keys = path.split('.');
  let doc: unknown = equals;
  for (let i = keys.length - 1; i >= 0; i--) doc = { [keys[i]!]: doc };
  return doc as Record<string, unknown>;
}

export function parseTags(tags: unknown, field: string): string[] {
  return parseInput(TagsSchema, tags, field);
}

/** The conditions the tag and parameter filters add to a project's run query. */
export async function labelConditions(
  prisma: PrismaClient,
  projectId: string,
  filter: { tags?: string[] | null; param?: ParamFilter | null },
): Promise<Prisma.RunWhereInput[]> {
  const out: Prisma.RunWhereInput[] = [];
  if (filter.tags && filter.tags.length > 0) out.push({ tags: { hasEvery: parseTags(filter.tags, 'filter.tags') } });
  if (filter.param) {
    const path = parseInput(PathSchema, filter.param.path, 'filter.param.path');
    const doc = JSON.stringify(containmentOf(path, filter.param.equals));
    const technique = filter.param.technique ?? null;
    const rows = await prisma.$queryRaw<{ runId: string }[]>`
      SELECT DISTINCT s."runId" FROM "RunStep" s JOIN "Run" r ON r.id = s."runId"
      WHERE r."projectId" = ${projectId}::uuid AND s.params @> ${doc}::jsonb
        AND (${technique}::text IS NULL OR s."techniqueId" = ${technique}::text)`;
    out.push({ id: { in: rows.map((r) => r.runId) } });
  }
  return out;
}
