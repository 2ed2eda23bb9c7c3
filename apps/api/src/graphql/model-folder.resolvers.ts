import type { Model } from '@distillery/db';
import { authorize } from '../authorization';
import type { ApiContext } from '../context';
import { conflict } from '../errors';
import { modelFolder, type FolderFile } from '../model-folder';
import type { ResolverMap } from './resolver-types';

async function folderOf(m: Model, ctx: ApiContext): Promise<FolderFile[]> {
  await authorize(ctx, { teamId: m.teamId }, 'read');
  if (m.status !== 'ready') throw conflict(`the model is ${m.status}; only ready models have files`);
  return modelFolder(ctx, m);
}

export const modelFolderResolvers: ResolverMap = {
  Model: {
    async files(m: Model, _: unknown, ctx: ApiContext) {
      return (await folderOf(m, ctx)).map((f) => ({ path: f.path, sha256: f.sha256, bytes: f.bytes, url: `/models/${m.id}/files?path=${encodeURIComponent(f.path)}` }));
    },
    async card(m: Model, _: unknown, ctx: ApiContext) {
      const readme = (await folderOf(m, ctx)).find((f) => f.path === 'README.md');
      return readme?.kind === 'generated' ? readme.text : '';
    },
  },
};
