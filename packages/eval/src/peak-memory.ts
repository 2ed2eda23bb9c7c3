/**
 * Peak memory of inference as the growth of the process's resident set size over its
 * level before the session was created, sampled between ORT calls (a sample inside one
 * is impossible without a second thread). RSS is per process: in a worker process other
 * threads' allocations count too, so the figure is an upper bound when they are busy.
 */
import { memoryUsage } from 'node:process';

export class PeakRss {
  private readonly start: number;
  private peak: number;

  constructor(private readonly read: () => number = () => memoryUsage.rss()) {
    this.start = read();
    this.peak = this.start;
  }

  sample(): void {
    const now = this.read();
    if (now > this.peak) this.peak = now;
  }

  /** Bytes of the highest sample over the starting level. */
  get delta(): number {
    this.sample();
    return this.peak - this.start;
  }
}
