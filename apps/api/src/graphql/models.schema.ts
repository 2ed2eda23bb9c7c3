export const modelsTypeDefs = /* GraphQL */ `
  enum ModelFormat {
    onnx
    safetensors
    gguf
    llama2c
  }

  type Model {
    id: ID!
    team: Team!
    "Null when the model is shared across the team's projects."
    project: Project
    name: String!
    format: ModelFormat!
    sha256: String!
    "Size of the stored file in bytes."
    bytes: Float!
    parameterCount: Float!
    config: JSON
    "The model this one was derived from."
    parent: Model
    "The run that produced this model."
    producedByRun: Run
    createdAt: DateTime!
  }

  extend type Query {
    models(projectId: ID!): [Model!]!
    model(id: ID!): Model!
  }

  extend type Mutation {
    """
    Import bytes uploaded with 'POST /upload' (which returns the sha256). tokenizerSha256 names an
    uploaded tokenizer.json (Hugging Face layout): with it, runs report perplexity.
    """
    importModel(projectId: ID!, name: String!, sha256: String!, tokenizerSha256: String): Model!
    """
    Import a file from the server's import root (MODEL_IMPORT_ROOT). A tokenizer.json beside the
    file, or in the folder above an onnx/ folder (a Hugging Face model folder), is imported with it.
    """
    importModelFromPath(projectId: ID!, name: String!, path: String!): Model!
  }
`;
