export * from './advance-sweep';
export * from './cancel-run';
export * from './cancel-sweep';
export * from './pareto-local-search';
export * from './queued-run';
export * from './run-queue';
export * from './sweep-space';
export * from './space-check';
