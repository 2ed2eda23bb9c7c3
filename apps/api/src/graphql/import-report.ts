/** The import report a worker stores in a model's config (`config.importReport`), read back for GraphQL. */
import type { ImportReport } from '@distillery/formats/import-report';
import { z } from 'zod';

// Checked against the importers' own type, so the two cannot drift apart.
const ImportReportSchema = z.object({
  format: z.string(),
  architecture: z.string(),
  parameters: z.number(),
  dtypes: z.record(z.string(), z.number()),
  tokenizerKind: z.string().nullable(),
  warnings: z.array(z.string()),
}) satisfies z.ZodType<ImportReport>;

/** The stored report, or null when there is none (or it is not one). */
export function importReportOf(config: unknown): ImportReport | null {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) return null;
  const r = ImportReportSchema.safeParse((config as Record<string, unknown>).importReport);
  return r.success ? r.data : null;
}
