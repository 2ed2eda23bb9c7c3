/** Root query type and shared scalars; each domain extends Query (auth.schema defines Mutation). */
export const baseTypeDefs = /* GraphQL */ `
  "An instant as an ISO 8601 string."
  scalar DateTime
  "Any JSON value."
  scalar JSON

  type Query {
    "The API's version; lets clients check they talk to Distillery."
    apiVersion: String!
  }
`;
