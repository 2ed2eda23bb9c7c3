/** Run.sensitivity: the rows the worker stored in Run.evaluation.sensitivity, typed. */
import { StoredSensitivityRowSchema, type StoredSensitivityRow } from '@distillery/techniques';
import { z } from 'zod';
import { runDocument, type RunParent } from '../run-documents';
import type { ApiContext } from '../context';
import type { ResolverMap } from './resolver-types';

const StoredTableSchema = z.object({ sensitivity: z.array(StoredSensitivityRowSchema).optional() });

export const sensitivityResolvers: ResolverMap = {
  Run: {
    async sensitivity(run: RunParent, _: unknown, ctx: ApiContext): Promise<StoredSensitivityRow[] | null> {
      const evaluation = await runDocument(run, 'evaluation', ctx);
      if (evaluation === null || typeof evaluation !== 'object' || !('sensitivity' in evaluation)) return null;
      // A row of another shape is a bug of the writer: fail loudly rather than draw a partial table.
      const parsed = StoredTableSchema.safeParse(evaluation);
      if (!parsed.success) throw new Error(`run ${run.id}: stored sensitivity rows do not have the expected shape: ${parsed.error.issues[0]?.message ?? ''}`);
      return parsed.data.sensitivity ?? null;
    },
  },
};
