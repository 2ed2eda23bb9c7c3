export * from './services';
export * from './web-build';
export * from './supervisor';
export * from './graphql-client';
