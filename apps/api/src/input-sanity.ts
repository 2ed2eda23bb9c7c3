/**
 * Refuses string arguments holding U+0000 before any resolver runs: Postgres text cannot
 * store it, and without this check the driver's error would surface deep inside a
 * resolver, far from the argument that caused it. The error names the argument path.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { Kind, valueFromASTUntyped, visit, type ASTNode, type DocumentNode } from 'graphql';
import { badInput, formatPath } from './errors';

/** The path below `value` to the first string holding U+0000, or null; built only on a hit (batches carry thousands of values). */
function findNul(value: unknown): (string | number)[] | null {
  if (typeof value === 'string') return value.includes('\u0000') ? [] : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findNul(value[i]);
      if (hit) return [i, ...hit];
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const k of Object.keys(value)) {
      if (k.includes('\u0000')) return [k];
      const hit = findNul((value as Record<string, unknown>)[k]);
      if (hit) return [k, ...hit];
    }
  }
  return null;
}

/** The path (`name`, `recipe.steps[0].technique`) of the first argument value containing U+0000. */
export function nulArgument(document: DocumentNode, variables: Record<string, unknown> | undefined): string | null {
  let found: string | null = null;
  visit(document, {
    Argument(node: ASTNode) {
      if (found || node.kind !== Kind.ARGUMENT) return;
      const value = valueFromASTUntyped(node.value, variables);
      const hit = findNul(value);
      if (hit) found = formatPath([node.name.value, ...hit]);
    },
  });
  return found;
}

export function inputSanityPlugin<C extends BaseContext>(): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request }) {
          const field = nulArgument(document, request.variables);
          if (field) {
            const e = badInput(field, 'must not contain the NUL character (U+0000)');
            e.extensions.http = { status: 400 };
            throw e;
          }
        },
      };
    },
  };
}
