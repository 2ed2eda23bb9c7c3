/** The Piscina task function: one entry for both kinds of work, so the pool loads one file. */
import { Piscina } from 'piscina';
import { runEvaluateTask } from './evaluate-task';
import { runImportTask } from './import-task';
import { runTechniqueTask } from './technique-task';
import type { ThreadTaskInput } from './thread-messages';

export default async function runThreadTask(input: ThreadTaskInput): Promise<unknown> {
  if (input.kind === 'technique') {
    const outcome = await runTechniqueTask(input);
    // Hand the output model back by transfer, not by copy.
    if (outcome.ok) {
      const movable = { [Piscina.transferableSymbol]: [outcome.value.model], [Piscina.valueSymbol]: outcome };
      return Piscina.move(movable as unknown as Parameters<typeof Piscina.move>[0]);
    }
    return outcome;
  }
  if (input.kind === 'import') {
    return runImportTask(input);
  }
  return runEvaluateTask(input);
}
