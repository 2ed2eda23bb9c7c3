import { gptq } from '/work/quant-methods/packages/techniques/src/quantize/gptq';
import { gemm, gram } from '/work/quant-methods/packages/onnx/src/index';
import { minMaxGrid, correlatedActivations } from '/work/quant-methods/packages/techniques/test/quant-method-fixtures';
import { seededUniform } from '/work/quant-methods/packages/techniques/test/mlp-fixture';
const n = 1024;
const x = seededUniform(2048 * n, 3, 1);
const g = await gram(x, 2048, n);
const w = seededUniform(n * n, 4, 0.1);
const a = { data: seededUniform(n*n, 5), rows: n, cols: n };
await gemm(a, a);
let t = performance.now(); for (let i = 0; i < 5; i++) await gemm(a, a); const mm = (performance.now() - t) / 5;
console.log('ORT gemm 1024^3 ms', mm.toFixed(1), 'GFLOP/s', (2 * n ** 3 / mm / 1e6).toFixed(1));
for (let r = 0; r < 3; r++) {
  t = performance.now();
  await gptq(w, n, n, g, { grid: minMaxGrid(4), groupSize: 128 });
  console.log('gptq ms', (performance.now() - t).toFixed(1));
}
