/**
 * The `distillery` command line, run as a child process: convert both ways, generate
 * greedy and sampled, and nonzero exit codes with a clear message on bad input.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportHfFolder, writeLlama2c, writeLlama2cTokenizer, type Llama2cPiece } from '@distillery/formats';
import { decoderWeightsFromModel } from '@distillery/nn';
import { readModelFolder, referenceModelDir } from '@distillery/reference';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../scripts/distillery.mjs');
let tmp: string;

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const idsLine = (out: string) => /^ids: (.*)$/m.exec(out)?.[1];

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('distillery convert and generate', () => {
  it('exports a model folder to GGUF, imports it back, and both generate the same greedy ids', async () => {
    const out = await cli('convert', referenceModelDir(), '--out', tmp, '--to', 'gguf', '--type', 'f16');
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const gguf = path.join(tmp, 'ref-base-f16.gguf');
    expect(out.stdout).toContain(`wrote ${gguf}`);
    expect(existsSync(gguf)).toBe(true);
    const back = path.join(tmp, 'back');
    const imported = await cli('convert', gguf, '--out', back);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/format gguf v3, architecture llama, 5261568 parameters/);
    const a = await cli('generate', referenceModelDir(), '--ids', '68 474 467 2260', '--max-new-tokens', '10', '--greedy');
    const b = await cli('generate', back, '--ids', '68 474 467 2260', '--max-new-tokens', '10');
    expect(a.code).toBe(0);
    expect(idsLine(a.stdout)!.split(' ')).toHaveLength(10);
    expect(idsLine(b.stdout)).toBe(idsLine(a.stdout));
    expect(a.stdout).toMatch(/^text: /m);
  });

  async function expectSameGreedyIds(converted: string): Promise<void> {
    const a = await cli('generate', referenceModelDir(), '--ids', '68 474 467 2260', '--max-new-tokens', '10', '--greedy');
    const b = await cli('generate', converted, '--ids', '68 474 467 2260', '--max-new-tokens', '10', '--greedy');
    expect(b.stderr).toBe('');
    expect(idsLine(a.stdout)!.split(' ')).toHaveLength(10);
    expect(idsLine(b.stdout)).toBe(idsLine(a.stdout));
  }

  it('converts a Hugging Face safetensors folder (named by folder or by its file) that generates the source greedy ids', async () => {
    const ref = await readModelFolder(referenceModelDir());
    const { config, weights } = decoderWeightsFromModel(ref.model);
    const source = path.join(tmp, 'hf-source');
    const tokenizerJson = await readFile(path.join(referenceModelDir(), 'tokenizer.json'), 'utf8');
    await exportHfFolder(config, weights, source, { dtype: 'F16', tokenizerJson });
    const out = path.join(tmp, 'from-hf');
    const r = await cli('convert', source, '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/format safetensors, architecture llama, 5261568 parameters, tensors \d+ F16, tokenizer BPE/);
    for (const file of ['onnx/model.onnx', 'config.json', 'tokenizer.json']) expect(existsSync(path.join(out, file)), file).toBe(true);
    await expectSameGreedyIds(out);
    const byFile = await cli('convert', path.join(source, 'model.safetensors'), '--out', path.join(tmp, 'from-hf-file'));
    expect(byFile.code).toBe(0);
    expect(byFile.stdout).toContain('format safetensors');
  });

  it('converts a llama2.c checkpoint with its tokenizer.bin that generates the source greedy ids', async () => {
    const ref = await readModelFolder(referenceModelDir());
    const { config, weights } = decoderWeightsFromModel(ref.model);
    const source = path.join(tmp, 'llama2c');
    await mkdir(source, { recursive: true });
    const checkpoint = path.join(source, 'stories.bin');
    await writeLlama2c(checkpoint, config, weights);
    const vocab = (JSON.parse(await readFile(path.join(referenceModelDir(), 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab;
    const pieces: Llama2cPiece[] = Object.entries(vocab).sort((a, b) => a[1] - b[1]).map(([piece, id]) => ({ piece, score: -id }));
    await writeFile(path.join(source, 'tokenizer.bin'), writeLlama2cTokenizer(pieces));
    const out = path.join(tmp, 'from-llama2c');
    const r = await cli('convert', checkpoint, '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/format llama2c, architecture llama, 5261568 parameters, tensors \d+ F32, tokenizer \S+/);
    await expectSameGreedyIds(out);
  });

  it('samples reproducibly from text with a seed', async () => {
    const args = ['generate', referenceModelDir(), '--prompt', 'Call me Ishmael.', '--max-new-tokens', '8', '--temperature', '0.8', '--top-k', '40', '--seed', '3'];
    const [a, b] = [await cli(...args), await cli(...args)];
    expect(a.code).toBe(0);
    expect(a.stdout).toContain('prompt ids: 68 474 467 2260');
    expect(idsLine(a.stdout)).toBe(idsLine(b.stdout));
  });

  async function badInputCases(): Promise<Array<[string[], number, RegExp]>> {
    const junk = path.join(tmp, 'junk.bin');
    await writeFile(junk, 'not a model, just some text here');
    const whole = await readFile(path.join(tmp, 'ref-base-f16.gguf'));
    const cut = path.join(tmp, 'cut.gguf');
    await writeFile(cut, whole.subarray(0, 5000));
    return [
      [[], 2, /usage:/],
      [['frobnicate'], 2, /unknown command "frobnicate"/],
      [['convert', referenceModelDir()], 2, /convert needs --out/],
      [['convert', referenceModelDir(), '--out', tmp], 2, /is a model folder already; add --to gguf/],
      [['convert', referenceModelDir(), '--out', tmp, '--to', 'gguf', '--type', 'q3_k'], 2, /--type "q3_k" is not one of f32, f16, bf16, q8_0, q4_0/],
      [['convert', path.join(tmp, 'missing.gguf'), '--out', tmp], 2, /missing\.gguf: no such file or folder/],
      [['convert', junk, '--out', tmp], 2, /junk\.bin: first bytes .* match no known model format/],
      [['convert', cut, '--out', path.join(tmp, 'cut-out')], 1, /cut\.gguf: tokenizer\.ggml\.tokens: claims 4096 .*more than the remaining/],
      [['generate', referenceModelDir(), '--prompt', 'a', '--ids', '1', '--max-new-tokens', '2'], 2, /exactly one of --prompt TEXT or --ids/],
      [['generate', referenceModelDir(), '--ids', '1 x', '--max-new-tokens', '2'], 2, /--ids: "x" is not a token id/],
      [['generate', referenceModelDir(), '--ids', '1', '--max-new-tokens', '0'], 2, /--max-new-tokens must be a positive integer, got "0"/],
      [['generate', referenceModelDir(), '--ids', '1', '--max-new-tokens', '2', '--temperature=-1'], 2, /--temperature must be a positive number/],
      [['generate', referenceModelDir(), '--ids', '1', '--max-new-tokens', '2', '--greedy', '--temperature', '1'], 2, /--greedy and --temperature exclude each other/],
      [['generate', tmp, '--ids', '1', '--max-new-tokens', '2'], 2, /is not a model folder/],
      [['generate', referenceModelDir(), '--ids', '1', '--max-new-tokens', '2', '--bogus'], 2, /Unknown option '--bogus'/],
    ];
  }

  async function expectFailures(cases: Array<[string[], number, RegExp]>): Promise<void> {
    for (const [args, code, message] of cases) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr + r.stdout, args.join(' ')).toMatch(message);
    }
  }

  it('exits nonzero with a clear message on bad convert input', async () => {
    await expectFailures((await badInputCases()).slice(0, 8));
  });

  it('names the problem when a folder or file is not something convert reads', async () => {
    const empty = path.join(tmp, 'empty');
    await mkdir(empty, { recursive: true });
    const broken = path.join(tmp, 'hf-broken');
    await mkdir(broken, { recursive: true });
    await writeFile(path.join(broken, 'model.safetensors'), await readFile(path.join(tmp, 'hf-source', 'model.safetensors')));
    await writeFile(path.join(broken, 'config.json'), '{"model_type": ');
    await expectFailures([
      [['convert', empty, '--out', path.join(tmp, 'x')], 2, /empty: neither one of our model folders .* nor a Hugging Face folder/],
      [['convert', path.join(referenceModelDir(), 'onnx', 'model.onnx'), '--out', path.join(tmp, 'x')], 2, /model\.onnx: an ONNX file .*name the folder/],
      [['convert', path.join(tmp, 'hf-source'), '--out', path.join(tmp, 'x'), '--to', 'gguf'], 2, /hf-source is not one of our model folders; convert it first/],
      [['convert', broken, '--out', path.join(tmp, 'x')], 1, /config\.json: .*not valid JSON/],
    ]);
  });

  it('exits nonzero with a clear message on bad generate input', async () => {
    await expectFailures((await badInputCases()).slice(8));
  });
});
