/** The contract every benchmark suite follows (see ARCHITECTURE.md, Benchmarks). */
export type BenchValue = number | string | boolean | null;
export type BenchRow = Record<string, BenchValue>;

export interface SuiteOptions {
  /** Smaller sizes and fewer repetitions: the whole suite finishes in under five minutes. */
  quick: boolean;
  /** Progress lines for people; suites never print tables themselves. */
  log: (message: string) => void;
}

export interface BenchSuite {
  name: string;
  description: string;
  run(opts: SuiteOptions): Promise<BenchRow[]>;
}

export interface BenchReport {
  suite: string;
  quick: boolean;
  startedAt: string;
  seconds: number;
  machine: MachineInfo;
  rows: BenchRow[];
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
}
