/**
 * Names and free text users give things (teams, projects, models, tokens). Control
 * characters break logs and terminals, and bidirectional overrides (U+202A-202E,
 * U+2066-2069) make a name display as something other than what it is ("Trojan
 * Source", CVE-2021-42574), so both are refused with the field named.
 */
import { z } from 'zod';

// C0 and C1 controls and DEL; U+0000 also cannot be stored in Postgres text at all.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
// Free text may keep line breaks and tabs.
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/u;
const BIDI_OVERRIDE = /[\u202a-\u202e\u2066-\u2069]/u;

function codePoint(s: string, re: RegExp): string {
  const m = re.exec(s);
  const cp = m ? m[0].codePointAt(0)! : 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} at position ${(m?.index ?? 0) + 1}`;
}

/** Why `s` is not acceptable as a name (or free text), or null when it is. */
export function unsafeCharacters(s: string, allowLineBreaks = false): string | null {
  const control = allowLineBreaks ? CONTROL_IN_TEXT : CONTROL;
  if (control.test(s)) return `must not contain control characters (found ${codePoint(s, control)})`;
  if (BIDI_OVERRIDE.test(s)) return `must not contain bidirectional override characters (found ${codePoint(s, BIDI_OVERRIDE)})`;
  return null;
}

function refineSafe(allowLineBreaks: boolean) {
  return (s: string, ctx: z.core.$RefinementCtx<string>) => {
    const problem = unsafeCharacters(s, allowLineBreaks);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  };
}

/** A trimmed, non-empty name of at most `max` characters without control or bidi-override characters. */
export function nameSchema(max: number) {
  return z.string().superRefine(refineSafe(false)).transform((s) => s.trim()).pipe(z.string().min(1, 'must not be empty').max(max, `use at most ${max} characters`));
}

/** Free text (descriptions): line breaks allowed, other controls and bidi overrides not. */
export function textSchema(max: number) {
  return z.string().max(max, `use at most ${max} characters`).superRefine(refineSafe(true));
}
