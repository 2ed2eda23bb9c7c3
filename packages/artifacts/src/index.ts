export * from './artifact-store';
export * from './local-artifact-store';
export * from './read-artifact';
