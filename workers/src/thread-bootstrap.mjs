// Piscina threads load plain JavaScript. This registers tsx's loader inside the thread
// (harmless when the process itself was started with `--import tsx`) and hands Piscina
// the TypeScript task function.
import { register } from 'tsx/esm/api';

register();
const { default: runThreadTask } = await import('./thread-entry.ts');
export default runThreadTask;
