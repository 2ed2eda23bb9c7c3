/** The shape of resolver maps, typed so each domain file keeps its own parent/argument types. */
import type { GraphQLResolveInfo, GraphQLScalarType } from 'graphql';
import type { ApiContext } from '../context';

// `never` parameters accept any concrete parent/args types in the domain files.
export type ResolverFn = (parent: never, args: never, ctx: ApiContext, info: GraphQLResolveInfo) => unknown;

/** A subscription field: `subscribe` returns the event stream, `resolve` (optional) maps each event. */
export interface SubscriptionResolver {
  subscribe: ResolverFn;
  resolve?: ResolverFn;
}

export type ResolverMap = Record<string, GraphQLScalarType | Record<string, ResolverFn | SubscriptionResolver>>;

/** Merge domain resolver maps; a field defined twice is a programming error. */
export function mergeResolvers(maps: ResolverMap[]): ResolverMap {
  const out: ResolverMap = {};
  for (const map of maps) {
    for (const [type, value] of Object.entries(map)) {
      const existing = out[type];
      if (existing === undefined) {
        out[type] = 'serialize' in value ? value : { ...value };
        continue;
      }
      if ('serialize' in existing || 'serialize' in value) throw new Error(`scalar ${type} defined twice`);
      for (const [field, fn] of Object.entries(value)) {
        if (field in existing) throw new Error(`resolver ${type}.${field} defined twice`);
        existing[field] = fn;
      }
    }
  }
  return out;
}
