import type { BenchSuite } from '../suite';

/**
 * Suites load lazily so one suite's imports never slow another. `hugePages`: the suite runs
 * with malloc on transparent huge pages (huge-pages.ts), where it compares decode speeds of
 * sessions that would otherwise differ by where their pages fall.
 */
export const suites: Record<string, { description: string; load: () => Promise<BenchSuite>; hugePages?: boolean }> = {
  'model-core': {
    description: 'tokenizer speed; 100M-parameter decoder build + load time',
    load: async () => (await import('./model-core')).default,
  },
  tokenizers: {
    description: 'encoding MB/s of real tokenizer.json files (Llama 2/3, Gemma 3) vs @huggingface/tokenizers, identical ids',
    load: async () => (await import('./tokenizers')).default,
  },
  import: {
    description: 'bench-100m safetensors folder -> ONNX: MB/s vs plain reading of the same bytes, peak RSS; tokenizer encoding vs @huggingface/tokenizers',
    load: async () => (await import('./import')).default,
  },
  train: {
    description: 'training throughput (whole optimizer steps, ref-5m, 8x256) vs ORT MatMul GFLOP/s',
    load: async () => (await import('./train')).default,
  },
  eval: {
    description: 'evaluation (perplexity, KL) tokens/s vs raw ORT forward of the same model, same windows, all cores',
    load: async () => (await import('./eval')).default,
  },
  quant: {
    description: 'quantization on ref-base (ppl, KL, top-1, bits/weight, bytes, decode) and 4-bit vs fp32 decode on bench-100m',
    load: async () => (await import('./quant')).default,
    hugePages: true,
  },
  'gptq-kernel': {
    description: 'GPTQ on a 1024x1024 layer: FLOP/s against ORT MatMul in the same run (the quant suite row alone)',
    load: async () => (await import('./gptq-kernel')).default,
  },
  awq: {
    description: "AWQ's scale-search objectives (block, layer, whole-model oracle, no clip) on ref-base 4-bit g64 against RTN and GPTQ",
    load: async () => (await import('./awq')).default,
  },
  outliers: {
    description: 'AWQ/GPTQ against RTN and Wanda/SparseGPT against magnitude on ref-base with outlier channels (the same function), beside ref-base',
    load: async () => (await import('./outliers')).default,
  },
  distill: {
    description: 'KD student vs the same student trained from scratch: test perplexity, size',
    load: async () => (await import('./distill')).default,
  },
  prune: {
    description: 'pruning on ref-base (unstructured, 2:4, FFN width, depth) and FFN-pruned decode speed on bench-100m',
    load: async () => (await import('./prune')).default,
    hugePages: true,
  },
  lowrank: {
    description: 'plain, activation-aware (ASVD) and whitened (SVD-LLM) low-rank factorization on ref-base at equal parameters',
    load: async () => (await import('./lowrank')).default,
  },
  api: {
    description: 'GraphQL over HTTP: metric ingest vs SQL COPY; run-list, compare, leaderboard p95 over 100,000 seeded runs',
    load: async () => (await import('./api')).default,
  },
  share: {
    description: 'k-means weight sharing against 4-bit per-channel RTN at equal bits per weight on ref-base',
    load: async () => (await import('./share')).default,
  },
  web: {
    description: 'dashboard time to interactive: runs page with 10,000 runs, compare page with 100 runs, against the sign-in page; scroll frame times',
    load: async () => (await import('./web')).default,
  },
};
