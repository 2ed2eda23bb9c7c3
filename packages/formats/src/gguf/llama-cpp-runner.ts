/**
 * llama.cpp (through node-llama-cpp's prebuilt CPU binaries, never built or downloaded at
 * run time) as an independent runner of GGUF files: greedy continuation of prompt ids,
 * timed, with a chosen thread count.
 */
import { getLlama, LlamaLogLevel, type Llama, type Token } from 'node-llama-cpp';

let llama: Promise<Llama> | undefined;

function cpuLlama(): Promise<Llama> {
  llama ??= getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, logLevel: LlamaLogLevel.error, maxThreads: 0 });
  return llama;
}

export interface LlamaCppGreedy {
  tokens: number[];
  /** Seconds spent generating after the prompt was evaluated (first token excluded). */
  decodeSeconds: number;
}

/** Greedy tokens llama.cpp generates after `prompt`, stopping only at `maxNewTokens`. */
export async function llamaCppGreedy(file: string, prompt: number[], maxNewTokens: number, opts: { threads?: number; contextSize?: number } = {}): Promise<LlamaCppGreedy> {
  if (prompt.length === 0) throw new Error('llamaCppGreedy needs a non-empty prompt');
  const l = await cpuLlama();
  const model = await l.loadModel({ modelPath: file, gpuLayers: 0 });
  try {
    const context = await model.createContext({ contextSize: opts.contextSize ?? Math.max(64, prompt.length + maxNewTokens), threads: opts.threads ?? 1, sequences: 1 });
    try {
      const sequence = context.getSequence();
      const tokens: number[] = [];
      let start = 0;
      for await (const t of sequence.evaluate(prompt as Token[], { temperature: 0 })) {
        tokens.push(t as number);
        if (tokens.length === 1) start = performance.now();
        if (tokens.length >= maxNewTokens) break;
      }
      return { tokens, decodeSeconds: (performance.now() - start) / 1000 };
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}
