export const modelFolderTypeDefs = /* GraphQL */ `
  "One file of a model's folder."
  type ModelFile {
    "Path inside the folder, e.g. onnx/model.onnx."
    path: String!
    sha256: String!
    bytes: Float!
    "Where to GET it (send the same Authorization header): /models/<id>/files?path=<path>."
    url: String!
  }

  extend type Model {
    "The model as a folder (onnx/model.onnx, tokenizer.json, config.json, README.md) with each file's sha256; ready models only."
    files: [ModelFile!]!
    "The generated model card (README.md of the folder): recipe, metrics, lineage."
    card: String!
  }
`;
