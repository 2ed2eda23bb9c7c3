// A bench worker thread: registers tsx, runs its share of an eval-bench job once the main
// thread says go (every thread's session is ready by then), and reports its seconds.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { runShare } = await import('./eval-throughput.ts');
const go = new Int32Array(workerData.go);
const seconds = await runShare(workerData.job, async () => {
  parentPort.postMessage({ ready: true });
  Atomics.wait(go, 0, 0);
});
parentPort.postMessage({ seconds });
