import { inverseCholeskyUpper } from '../packages/techniques/src/linalg/inverse-cholesky';
import { gram } from '../packages/onnx/src/index';
import { seededUniform } from '../packages/techniques/test/mlp-fixture';
const n = 1024;
const x = seededUniform(2048 * n, 3, 1);
const g = await gram(x, 2048, n);
for (let r = 0; r < 3; r++) { const t = performance.now(); await inverseCholeskyUpper(g, n); console.log('chol ms', (performance.now() - t).toFixed(1)); }
