/**
 * The API's BAD_USER_INPUT errors name each problem's field (`recipe.steps[0].params.bits`);
 * forms show them beside the field. Pure.
 */
import { GraphqlRequestError } from './graphql';
import type { ParamIssue } from './params-validate';

interface FieldIssue {
  field: string;
  message: string;
}

/** Every field problem the API reported, in order. */
export function apiFieldIssues(err: unknown): FieldIssue[] {
  if (!(err instanceof GraphqlRequestError)) return [];
  const out: FieldIssue[] = [];
  for (const e of err.errors) {
    const ext = e.extensions as { field?: string; issues?: FieldIssue[] } | undefined;
    out.push(...(ext?.issues ?? (ext?.field ? [{ field: ext.field, message: e.message }] : [])));
  }
  return out;
}

/** The problems under `prefix` (e.g. `recipe.steps[0].params`), with paths relative to it as the schema form names them ("minSize", "loss.alpha"). */
export function issuesUnder(issues: ReadonlyArray<FieldIssue>, prefix: string): ParamIssue[] {
  const out: ParamIssue[] = [];
  for (const i of issues) {
    if (i.field !== prefix && !i.field.startsWith(`${prefix}.`) && !i.field.startsWith(`${prefix}[`)) continue;
    out.push({ path: i.field.slice(prefix.length).replace(/^\./, ''), message: i.message });
  }
  return out;
}
