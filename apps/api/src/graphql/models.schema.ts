export const modelsTypeDefs = /* GraphQL */ `
  enum ModelFormat {
    onnx
    safetensors
    gguf
    llama2c
  }

  "importing: a worker is decoding and validating it; ready: usable in runs; failed: see error."
  enum ModelStatus {
    importing
    ready
    failed
  }

  "What an import found in the source file (written by the worker's import job)."
  type ImportReport {
    "Source format as detected from the bytes, e.g. 'gguf v3' or 'onnx'."
    format: String!
    architecture: String!
    parameters: Float!
    "Tensor count by stored type (Q8_0: 26, F32: 9, ...)."
    dtypes: JSON!
    "Null when the model came without a tokenizer."
    tokenizerKind: String
    warnings: [String!]!
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
    "0 until the import is ready."
    parameterCount: Float!
    status: ModelStatus!
    "Why the import failed (naming the tensor, field or problem); null otherwise."
    error: String
    config: JSON
    "Null until a worker has imported it (and for models produced by runs)."
    importReport: ImportReport
    "The tokenizer.json the model is evaluated and run with."
    tokenizer: Artifact
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

  "A further uploaded file of a model folder: its name in the folder and the sha256 that POST /upload returned."
  input ImportFileInput {
    name: String!
    sha256: String!
  }

  extend type Mutation {
    """
    Import bytes the team uploaded with 'POST /upload?teamId=' (which returns the sha256): an ONNX model,
    a GGUF file, a llama2.c checkpoint, or the model.safetensors of a Hugging Face folder (the format is
    read from the bytes; all but ONNX are converted to ONNX). tokenizerSha256
    names an uploaded tokenizer.json (Hugging Face layout): with it, runs report perplexity. configSha256
    names the folder's uploaded config.json, which a safetensors upload needs for its shape.
    A sharded folder: upload every file, pass model.safetensors.index.json as sha256, config.json as
    configSha256 and each shard in files under the name the index gives it; a shard the index names
    and files lacks fails the import with that file's name.
    A hash the team has not uploaded is refused the same way as one nobody stored. The model comes back
    in status importing; a worker validates it and moves it to ready or failed (poll model(id) { status error }).
    """
    importModel(projectId: ID!, name: String!, sha256: String!, tokenizerSha256: String, configSha256: String, files: [ImportFileInput!]): Model!
    """
    Import a file from the server's import root (MODEL_IMPORT_ROOT). A tokenizer.json beside the
    file, or in the folder above an onnx/ folder (a Hugging Face model folder), is imported with it.
    Besides ONNX: model.safetensors or model.safetensors.index.json of a Hugging Face folder (Llama,
    Mistral, Qwen2; config.json and shards beside it), or a llama2.c checkpoint (tokenizer.bin beside
    it); these are converted to ONNX with the Optimum interface.
    The files count as the team's uploads; the model comes back in status importing, like importModel.
    """
    importModelFromPath(projectId: ID!, name: String!, path: String!): Model!
  }
`;
