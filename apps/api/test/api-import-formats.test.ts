/**
 * Bring your own model through the one GraphQL import path, over real HTTP, a real worker
 * thread and real Postgres: a Hugging Face safetensors folder and a llama2.c checkpoint become
 * ONNX decoders with a report; bad input fails the import with a message naming the problem.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportGpt2Folder, exportHfFolder, writeLlama2c, writeLlama2cTokenizer } from '@distillery/formats';
import { buildDecoder, createDecoderSession, decoderPreset, gpt2ReferenceForward, initDecoderWeights, initGpt2Weights, parseGpt2Config, runDecoder, toTokenizerJson, trainBpe } from '@distillery/nn';
import { readArtifact } from '@distillery/artifacts';
import { createHash } from 'node:crypto';
import { decodeModel, inspectModel, serializeModel, writeModel } from '@distillery/onnx';
import { importBytes, ok, signUp, startHarness, upload, waitForImport, type Harness } from './harness';

let h: Harness;
let token: string;
let teamId: string;
let projectId: string;

beforeAll(async () => {
  h = await startHarness();
  token = (await signUp(h, 'formats')).token;
  teamId = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Formats") { id } }`, {}, token)).createTeam.id;
  projectId = ok(await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "p") { id } }`, { t: teamId }, token)).createProject.id;
});
afterAll(async () => h?.close());

const FROM_PATH = `mutation($p: ID!, $path: String!) { importModelFromPath(projectId: $p, name: "byo", path: $path) { id } }`;
const REPORT = `query($id: ID!) { model(id: $id) { status error format importReport { format architecture parameters dtypes tokenizerKind warnings } config tokenizer { sha256 } } }`;

async function importPath(relative: string): Promise<{ id: string; status: string; error: string | null; importReport: Record<string, unknown> | null; config: Record<string, unknown>; tokenizer: { sha256: string } | null }> {
  const m = ok(await h.gql<{ importModelFromPath: { id: string } }>(FROM_PATH, { p: projectId, path: relative }, token));
  await waitForImport(h, m.importModelFromPath.id, token, 120_000);
  const r = ok(await h.gql<{ model: { status: string; error: string | null; importReport: Record<string, unknown> | null; config: Record<string, unknown>; tokenizer: { sha256: string } | null } }>(REPORT, { id: m.importModelFromPath.id }, token));
  return { id: m.importModelFromPath.id, ...r.model };
}

describe('importing other formats', () => {
  it('converts a sharded F16 safetensors folder, keeps its tokenizer and reports a config id the tokenizer disagrees with', async () => {
    const tok = trainBpe(['call me ishmael, some years ago, never mind how long precisely'], { vocabSize: 280 });
    const config = decoderPreset('tiny', { vocabSize: tok.vocabSize });
    const weights = initDecoderWeights(config, 5);
    const dir = path.join(h.api.config.importRoot, 'hf-llama');
    await mkdir(dir, { recursive: true });
    // config.json says BOS is id 5; the tokenizer's BOS is <|endoftext|>.
    await exportHfFolder(config, weights, dir, { dtype: 'F16', maxShardBytes: 20_000, tokenizerJson: JSON.stringify(toTokenizerJson(tok)), bosTokenId: 5 });
    const m = await importPath('hf-llama/model.safetensors.index.json');
    expect(m.error).toBeNull();
    expect(m.status).toBe('ready');
    expect(m.importReport).toMatchObject({ format: 'safetensors', architecture: 'llama', tokenizerKind: 'BPE (byte-level)', dtypes: { F16: weights.size } });
    expect((m.importReport!.warnings as string[]).join('\n')).toMatch(/config\.json bos_token_id is 5 .* but the tokenizer's BOS is "<\|endoftext\|>"/);
    expect(m.tokenizer?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(m.config.decoderConfig).toMatchObject({ bos_token_id: tok.endOfTextId, num_key_value_heads: config.nKvHeads });
    // The stored bytes are an ONNX decoder that computes what the weights say.
    const row = await h.db.prisma.model.findUniqueOrThrow({ where: { id: m.id } });
    const stored = decodeModel(new Uint8Array(await readArtifact(h.store, row.sha256)));
    const session = await createDecoderSession(stored);
    const reference = await createDecoderSession(buildDecoder(config, weights, { weightDtype: 'float16' }));
    const input = { inputIds: [[4, 9, 33, 2]] };
    const [a, b] = [await runDecoder(session, config, input), await runDecoder(reference, config, input)];
    let diff = 0;
    for (let i = 0; i < a.logits.length; i++) diff = Math.max(diff, Math.abs(a.logits[i] - b.logits[i]));
    expect(diff).toBeLessThanOrEqual(1e-4);
  });

  it('converts a GPT-2 safetensors folder: the stored model computes the reference logits and ships its GPT-2 config.json', async () => {
    const config = parseGpt2Config({ arch: 'gpt2', vocabSize: 97, hiddenSize: 32, nLayers: 2, nHeads: 4, ffnSize: 128, maxPositions: 64 });
    const weights = initGpt2Weights(config, 8);
    const dir = path.join(h.api.config.importRoot, 'hf-gpt2');
    await exportGpt2Folder(config, weights, dir);
    const m = await importPath('hf-gpt2/model.safetensors');
    expect(m.error).toBeNull();
    expect(m.status).toBe('ready');
    expect(m.importReport).toMatchObject({ format: 'safetensors', architecture: 'gpt2', parameters: [...weights.values()].reduce((n, w) => n + w.length, 0) });
    expect(m.config.decoderConfig).toMatchObject({ model_type: 'gpt2', n_layer: 2, n_head: 4, activation_function: 'gelu_new' });
    const row = await h.db.prisma.model.findUniqueOrThrow({ where: { id: m.id } });
    const session = await createDecoderSession(decodeModel(new Uint8Array(await readArtifact(h.store, row.sha256))));
    const ids = [4, 90, 33, 2, 17];
    const out = await runDecoder(session, config, { inputIds: [ids] });
    await session.release();
    const ref = gpt2ReferenceForward(config, weights, ids).flat();
    let diff = 0;
    for (let i = 0; i < ref.length; i++) diff = Math.max(diff, Math.abs(out.logits[i]! - ref[i]!));
    expect(diff).toBeLessThanOrEqual(1e-4);
  });

  it('converts a llama2.c checkpoint with its tokenizer.bin from the import root, and one uploaded alone', async () => {
    const config = decoderPreset('tiny', { vocabSize: 262, tieEmbeddings: false });
    const weights = initDecoderWeights(config, 6);
    const dir = path.join(h.api.config.importRoot, 'l2c');
    await mkdir(dir, { recursive: true });
    await writeLlama2c(path.join(dir, 'stories.bin'), config, weights);
    const pieces = [
      { piece: '<unk>', score: 0 }, { piece: '<s>', score: 0 }, { piece: '</s>', score: 0 },
      ...Array.from({ length: 256 }, (_, b) => ({ piece: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, score: 0 })),
      { piece: '▁', score: -1 }, { piece: 'a', score: -2 }, { piece: '▁a', score: -3 },
    ];
    await writeFile(path.join(dir, 'tokenizer.bin'), writeLlama2cTokenizer(pieces));
    const m = await importPath('l2c/stories.bin');
    expect(m.error).toBeNull();
    expect(m.importReport).toMatchObject({ format: 'llama2c', architecture: 'llama', tokenizerKind: 'BPE (SentencePiece-style, byte fallback)', parameters: [...weights.values()].reduce((n, w) => n + w.length, 0) });
    expect(m.tokenizer?.sha256).toMatch(/^[0-9a-f]{64}$/);

    const { readFile } = await import('node:fs/promises');
    const alone = await importBytes(h, token, teamId, projectId, new Uint8Array(await readFile(path.join(dir, 'stories.bin'))), 'uploaded');
    expect(alone.status).toBe('ready');
    const r = ok(await h.gql<{ model: { importReport: { tokenizerKind: string | null; warnings: string[] } } }>(REPORT, { id: alone.id }, token));
    expect(r.model.importReport.tokenizerKind).toBeNull();
    expect(r.model.importReport.warnings.join()).toMatch(/no tokenizer\.bin/);
  });

  it('converts an uploaded model.safetensors with its uploaded config.json and tokenizer.json, and refuses a config hash never uploaded', async () => {
    const tok = trainBpe(['call me ishmael, some years ago, never mind how long precisely'], { vocabSize: 280 });
    const config = decoderPreset('tiny', { vocabSize: tok.vocabSize });
    const dir = path.join(h.api.config.importRoot, 'hf-upload');
    const weights = initDecoderWeights(config, 6);
    await exportHfFolder(config, weights, dir, { tokenizerJson: JSON.stringify(toTokenizerJson(tok)) });
    const { readFile } = await import('node:fs/promises');
    const sent = await Promise.all(['model.safetensors', 'config.json', 'tokenizer.json'].map(async (f) => String((await upload(h.api, new Uint8Array(await readFile(path.join(dir, f))), token, teamId)).body.sha256)));
    const IMPORT = `mutation($p: ID!, $s: String!, $t: String, $c: String) { importModel(projectId: $p, name: "uploaded-hf", sha256: $s, tokenizerSha256: $t, configSha256: $c) { id } }`;
    const never = await h.gql(IMPORT, { p: projectId, s: sent[0], c: 'e'.repeat(64) }, token);
    expect(never.errors?.[0]?.extensions?.field).toBe('configSha256');
    const m = ok(await h.gql<{ importModel: { id: string } }>(IMPORT, { p: projectId, s: sent[0], t: sent[2], c: sent[1] }, token));
    expect(await waitForImport(h, m.importModel.id, token, 120_000)).toMatchObject({ status: 'ready', error: null });
    const r = ok(await h.gql<{ model: { importReport: Record<string, unknown>; tokenizer: { sha256: string } | null } }>(REPORT, { id: m.importModel.id }, token)).model;
    expect(r.importReport).toMatchObject({ format: 'safetensors', architecture: 'llama', tokenizerKind: 'BPE (byte-level)', dtypes: { F32: weights.size } });
    expect(r.tokenizer?.sha256).toBe(sent[2]);
    // The uploads it used are imported, not left for the garbage collector's pending sweep.
    const states = await h.db.prisma.upload.findMany({ where: { teamId, sha256: { in: [sent[1], sent[2]] } }, select: { state: true } });
    expect(states.map((u) => u.state)).toEqual(['imported', 'imported']);
  });

  it('converts an uploaded sharded folder (index, shards, config.json, tokenizer.json), and fails one missing a shard naming it', async () => {
    const tok = trainBpe(['call me ishmael, some years ago, never mind how long precisely'], { vocabSize: 280 });
    const config = decoderPreset('tiny', { vocabSize: tok.vocabSize });
    const weights = initDecoderWeights(config, 8);
    const dir = path.join(h.api.config.importRoot, 'hf-sharded-upload');
    const written = await exportHfFolder(config, weights, dir, { dtype: 'F16', maxShardBytes: 20_000, tokenizerJson: JSON.stringify(toTokenizerJson(tok)) });
    const shards = written.files.filter((f) => f !== 'model.safetensors.index.json');
    expect(shards.length).toBeGreaterThanOrEqual(2);
    const { readFile } = await import('node:fs/promises');
    const sha = async (f: string) => {
      const r = await upload(h.api, new Uint8Array(await readFile(path.join(dir, f))), token, teamId);
      expect(r.status).toBe(201);
      return String(r.body.sha256);
    };
    const [index, cfg, tokenizer] = [await sha('model.safetensors.index.json'), await sha('config.json'), await sha('tokenizer.json')];
    const files = await Promise.all(shards.map(async (name) => ({ name, sha256: await sha(name) })));
    const IMPORT = `mutation($p: ID!, $n: String!, $s: String!, $t: String, $c: String, $f: [ImportFileInput!]) { importModel(projectId: $p, name: $n, sha256: $s, tokenizerSha256: $t, configSha256: $c, files: $f) { id } }`;
    const STATE = `query($id: ID!) { model(id: $id) { status error parameterCount importReport { format architecture parameters dtypes tokenizerKind } } }`;

    // Names that cannot be laid out in a folder, and shards without their config.json, are refused before any job.
    const badName = await h.gql(IMPORT, { p: projectId, n: 'bad', s: index, c: cfg, f: [{ name: '../escape.safetensors', sha256: files[0].sha256 }] }, token);
    expect(badName.errors?.[0]?.extensions?.field).toBe('files');
    expect(badName.errors?.[0]?.message).toMatch(/"\.\.\/escape\.safetensors" is not a plain file name/);
    const noConfig = await h.gql(IMPORT, { p: projectId, n: 'bad', s: index, f: files }, token);
    expect(noConfig.errors?.[0]?.message).toMatch(/configSha256/);
    const notOurs = await h.gql(IMPORT, { p: projectId, n: 'bad', s: index, c: cfg, f: [{ name: shards[0], sha256: 'e'.repeat(64) }] }, token);
    expect(notOurs.errors?.[0]?.message).toContain(`${shards[0]}: nothing was uploaded with this hash by this team`);

    const m = ok(await h.gql<{ importModel: { id: string } }>(IMPORT, { p: projectId, n: 'uploaded-sharded', s: index, t: tokenizer, c: cfg, f: files }, token));
    expect(await waitForImport(h, m.importModel.id, token, 120_000)).toMatchObject({ status: 'ready', error: null });
    const parameters = [...weights.values()].reduce((n, w) => n + w.length, 0);
    const r = ok(await h.gql<{ model: { parameterCount: number; importReport: Record<string, unknown> } }>(STATE, { id: m.importModel.id }, token)).model;
    expect(r.importReport).toMatchObject({ format: 'safetensors', architecture: 'llama', parameters, tokenizerKind: 'BPE (byte-level)', dtypes: { F16: weights.size } });
    // The stored model is the reference decoder: same initializers (weights plus rotary tables), same logits.
    const referenceModel = buildDecoder(config, weights, { weightDtype: 'float16' });
    expect(r.parameterCount).toBe(inspectModel(referenceModel).parameterCount);
    const row = await h.db.prisma.model.findUniqueOrThrow({ where: { id: m.importModel.id } });
    const session = await createDecoderSession(decodeModel(new Uint8Array(await readArtifact(h.store, row.sha256))));
    const reference = await createDecoderSession(referenceModel);
    const input = { inputIds: [[4, 9, 33, 2]] };
    const [a, b] = [await runDecoder(session, config, input), await runDecoder(reference, config, input)];
    let diff = 0;
    for (let i = 0; i < a.logits.length; i++) diff = Math.max(diff, Math.abs(a.logits[i] - b.logits[i]));
    expect(diff).toBeLessThanOrEqual(1e-4);

    const missing = shards[shards.length - 1];
    const partial = ok(await h.gql<{ importModel: { id: string } }>(IMPORT, { p: projectId, n: 'missing-shard', s: index, c: cfg, f: files.filter((f) => f.name !== missing) }, token));
    const failed = await waitForImport(h, partial.importModel.id, token, 120_000);
    expect(failed.status).toBe('failed');
    expect(failed.error).toBe(`safetensors-index: model.safetensors.index.json: weight_map: names shard "${missing}", which is not in the folder`);
  });

  it('fails imports of bad files with the file, field and problem, and the worker keeps going', async () => {
    const config = decoderPreset('tiny');
    const dir = path.join(h.api.config.importRoot, 'hf-bad');
    await exportHfFolder(config, initDecoderWeights(config, 7), dir);
    const { readFile } = await import('node:fs/promises');
    const hf = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ ...hf, num_key_value_heads: 4 }));
    const bad = await importPath('hf-bad/model.safetensors');
    expect(bad.status).toBe('failed');
    expect(bad.error).toBe('safetensors: model.safetensors: model.layers.0.self_attn.k_proj.weight.shape: [16, 32] disagrees with config.json, which implies [32, 32]');
    const single = await importBytes(h, token, teamId, projectId, new Uint8Array(await readFile(path.join(dir, 'model.safetensors'))), 'lonely');
    expect(single.status).toBe('failed');
    expect(single.error).toMatch(/a safetensors file needs the config\.json/);
    // The worker still imports after the failures.
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(hf));
    expect((await importPath('hf-bad/model.safetensors')).status).toBe('ready');
  });

  it('checks ONNX uploads from their graph: stored as uploaded, external data stored inline, NaN weights and truncated files refused by name', async () => {
    const config = decoderPreset('tiny');
    const model = buildDecoder(config, initDecoderWeights(config, 9, 0.2));
    const bytes = serializeModel(model).model;
    const good = await importBytes(h, token, teamId, projectId, bytes, 'onnx-as-is');
    expect(good.error ?? null).toBeNull();
    expect(good.status).toBe('ready');
    const row = await h.db.prisma.model.findFirstOrThrow({ where: { name: 'onnx-as-is', teamId } });
    expect(row.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(Number(row.parameterCount)).toBe(inspectModel(model).parameterCount);
    expect((row.config as { importReport: Record<string, unknown> }).importReport).toMatchObject({ format: 'onnx', architecture: 'llama', parameters: inspectModel(model).parameterCount });

    // A server-side folder with external data becomes one stored file, the same bytes as the model serialized inline.
    const dir = path.join(h.api.config.importRoot, 'onnx-external');
    await writeModel(model, path.join(dir, 'model.onnx'), { externalData: { threshold: 1024 } });
    const external = await importPath('onnx-external/model.onnx');
    expect(external.error).toBeNull();
    expect(external.status).toBe('ready');
    const stored = await h.db.prisma.model.findUniqueOrThrow({ where: { id: external.id } });
    expect(Buffer.compare(await readArtifact(h.store, stored.sha256), Buffer.from(bytes))).toBe(0);

    const embed = model.graph.initializers.find((t) => t.name === 'model.embed_tokens.weight')!;
    const poisoned = new Uint8Array(embed.raw);
    new DataView(poisoned.buffer).setFloat32(7 * 4, Number.NaN, true);
    const nan = { ...model, graph: { ...model.graph, initializers: model.graph.initializers.map((t) => (t === embed ? { ...t, raw: poisoned } : t)) } };
    const refused = await importBytes(h, token, teamId, projectId, serializeModel(nan).model, 'onnx-nan');
    expect(refused.status).toBe('failed');
    expect(refused.error).toMatch(/^weight "model\.embed_tokens\.weight" holds NaN at element 7/);

    const cut = await importBytes(h, token, teamId, projectId, bytes.subarray(0, Math.floor(bytes.byteLength / 2)), 'onnx-cut');
    expect(cut.status).toBe('failed');
    expect(cut.error).toMatch(/^not a usable ONNX model: model\.onnx: ModelProto\.graph at byte \d+ claims \d+ bytes, but the file ends at byte \d+ \(truncated or corrupt\)$/);
  });
});
