/**
 * llama.cpp (through node-llama-cpp's prebuilt CPU binaries, never built or downloaded at
 * run time) as an independent runner of GGUF files: greedy continuation of prompt ids,
 * timed, with a chosen thread count, and tokenization with the file's vocabulary.
 */
import { getLlama, LlamaLogLevel, type Llama, type LlamaContext, type LlamaModel, type Token } from 'node-llama-cpp';

let llama: Promise<Llama> | undefined;

function cpuLlama(): Promise<Llama> {
  // maxThreads 0: a context's `threads` is then the exact count used, not a hint.
  llama ??= getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, logLevel: LlamaLogLevel.error, maxThreads: 0 });
  return llama;
}

export interface LlamaCppGreedy {
  tokens: number[];
  /** Seconds from the first generated token to the last (prompt evaluation excluded). */
  decodeSeconds: number;
}

export interface LlamaCppRunner {
  /** Greedy tokens after `prompt`, from an empty context each call, stopping only at `maxNewTokens`. */
  greedy(prompt: number[], maxNewTokens: number): Promise<LlamaCppGreedy>;
  /** llama.cpp's own tokenization of `text` with the file's vocabulary, no BOS, special tokens as text. */
  tokenize(text: string): number[];
  dispose(): Promise<void>;
}

export async function openLlamaCpp(file: string, opts: { threads?: number; contextSize?: number; useMmap?: boolean } = {}): Promise<LlamaCppRunner> {
  const l = await cpuLlama();
  // useMmap false reads the weights into malloc'd memory (which huge pages can back) instead of mapping the file.
  const model: LlamaModel = await l.loadModel({ modelPath: file, gpuLayers: 0, ...(opts.useMmap === undefined ? {} : { useMmap: opts.useMmap }) });
  let context: LlamaContext;
  try {
    context = await model.createContext({ contextSize: opts.contextSize ?? 256, threads: opts.threads ?? 1, sequences: 1 });
  } catch (error) {
    await model.dispose();
    throw error;
  }
  const sequence = context.getSequence();
  return {
    async greedy(prompt, maxNewTokens) {
      if (prompt.length === 0) throw new Error('llama.cpp greedy decoding needs a non-empty prompt');
      await sequence.clearHistory();
      const tokens: number[] = [];
      let start = 0;
      for await (const t of sequence.evaluate(prompt as Token[], { temperature: 0 })) {
        tokens.push(t as number);
        if (tokens.length === 1) start = performance.now();
        if (tokens.length >= maxNewTokens) break;
      }
      return { tokens, decodeSeconds: (performance.now() - start) / 1000 };
    },
    tokenize(text) {
      return Array.from(model.tokenize(text, false), Number);
    },
    async dispose() {
      await context.dispose();
      await model.dispose();
    },
  };
}

/** One greedy continuation with a model opened for it. */
export async function llamaCppGreedy(file: string, prompt: number[], maxNewTokens: number, opts: { threads?: number } = {}): Promise<LlamaCppGreedy> {
  const runner = await openLlamaCpp(file, { threads: opts.threads, contextSize: Math.max(64, prompt.length + maxNewTokens) });
  try {
    return await runner.greedy(prompt, maxNewTokens);
  } finally {
    await runner.dispose();
  }
}
