export interface BenchArgs {
  suite: string | undefined;
  quick: boolean;
  json: string | undefined;
}

export function parseBenchArgs(argv: string[]): BenchArgs {
  const out: BenchArgs = { suite: undefined, quick: false, json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') out.quick = true;
    else if (a === '--json') {
      const file = argv[++i];
      if (!file) throw new Error('--json needs a file name');
      out.json = file;
    } else if (a.startsWith('--json=')) out.json = a.slice('--json='.length);
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else if (out.suite === undefined) out.suite = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  return out;
}
