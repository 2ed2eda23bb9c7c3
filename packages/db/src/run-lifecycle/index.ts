export * from './run-events.ts';
export * from './run-lifecycle.ts';
export * from './run-transitions.ts';
export * from './run-event-hub.ts';
