import { gptq } from '../packages/techniques/src/quantize/gptq';
import { gram } from '../packages/onnx/src/index';
import { minMaxGrid } from '../packages/techniques/test/quant-method-fixtures';
import { seededUniform } from '../packages/techniques/test/mlp-fixture';
const n = 1024;
const x = seededUniform(2048 * n, 3, 1);
const g = await gram(x, 2048, n);
const w = seededUniform(n * n, 4, 0.1);
for (const B of [32, 16, 8, 32]) for (let r = 0; r < 2; r++) {
  const t = performance.now();
  await gptq(w, n, n, g, { grid: minMaxGrid(4), groupSize: 128, blockSize: B });
  console.log(B, 'gptq ms', (performance.now() - t).toFixed(1));
}
