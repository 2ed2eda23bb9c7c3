/**
 * A run's large JSON documents (recipe, evaluation with its samples, provenance) are left
 * out of list queries: a page of 100 runs would otherwise read and parse every document
 * whether or not the selection asks for it. Their field resolvers read them from the parent
 * when it has them, and otherwise batch one query per request through a loader.
 */
import type { Run } from '@distillery/db';
import type { ApiContext } from './context';

export type RunDocumentField = 'recipe' | 'evaluation' | 'provenance';

/** Prisma `omit` for list queries. */
export const OMIT_RUN_DOCUMENTS = { recipe: true, evaluation: true, provenance: true } as const;

/** A run as list queries return it: the documents may be missing. */
export type RunParent = Omit<Run, RunDocumentField> & Partial<Pick<Run, RunDocumentField>>;

export type RunDocuments = Pick<Run, 'id' | RunDocumentField>;

export async function runDocument<K extends RunDocumentField>(run: RunParent, field: K, ctx: ApiContext): Promise<Run[K]> {
  const own = run[field];
  if (own !== undefined) return own as Run[K];
  const docs = await ctx.loaders.runDocuments.load(run.id);
  if (!docs) throw new Error(`run ${run.id} has no row to read ${field} from`);
  return docs[field];
}
