export { createApi, type CreateApiOptions, type RunningApi } from './server';
export { loadConfig, ConfigError, type ApiConfig, type GraphqlLimits } from './config';
export { typeDefs, resolvers, API_VERSION } from './graphql/schema';
