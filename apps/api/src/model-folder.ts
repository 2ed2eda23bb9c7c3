/**
 * A model as a Hugging Face-style folder: onnx/model.onnx and tokenizer.json from the
 * artifact store, config.json and README.md (the model card) generated from the database.
 * Every file is listed with its sha256, so a download can be checked.
 */
import { createHash } from 'node:crypto';
import type { Model } from '@distillery/db';
import type { ApiServices } from './context';
import { ancestorsOf } from './lineage-graph';
import { latestMetrics } from './loaders';
import { modelCard } from './model-card';

export type FolderFile =
  | { path: string; sha256: string; bytes: number; kind: 'blob' }
  | { path: string; sha256: string; bytes: number; kind: 'generated'; text: string };

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

function generated(path: string, text: string): FolderFile {
  return { path, sha256: sha256(text), bytes: Buffer.byteLength(text), kind: 'generated', text };
}

export async function modelFolder(services: Pick<ApiServices, 'prisma' | 'store'>, model: Model): Promise<FolderFile[]> {
  const { prisma, store } = services;
  const files: FolderFile[] = [{ path: 'onnx/model.onnx', sha256: model.sha256, bytes: Number(model.bytes), kind: 'blob' }];
  const config = (model.config ?? {}) as { decoderConfig?: unknown };
  const tokenizer = model.tokenizerId ? await prisma.artifact.findUnique({ where: { id: model.tokenizerId } }) : null;
  if (tokenizer) {
    const bytes = await store.size(tokenizer.sha256);
    if (bytes !== null) files.push({ path: 'tokenizer.json', sha256: tokenizer.sha256, bytes, kind: 'blob' });
  }
  if (config.decoderConfig) files.push(generated('config.json', `${JSON.stringify(config.decoderConfig, null, 2)}\n`));
  const run = model.producedByRunId ? await prisma.run.findUnique({ where: { id: model.producedByRunId } }) : null;
  const metrics = run ? (await latestMetrics(prisma, [run.id])).filter((m) => m.runStepId === null) : [];
  const lineage = await ancestorsOf(prisma, model);
  const card = modelCard({
    model: { id: model.id, name: model.name, sha256: model.sha256, bytes: Number(model.bytes), parameterCount: Number(model.parameterCount), createdAt: model.createdAt },
    run,
    metrics,
    lineage,
    files,
  });
  files.push(generated('README.md', card));
  return files;
}
