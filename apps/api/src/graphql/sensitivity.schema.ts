export const sensitivityTypeDefs = /* GraphQL */ `
  """
  One cell of a run's per-layer sensitivity: the output model with only this layer changed by
  one probe (round-to-nearest at bits, or magnitude pruning at sparsity), compared with the
  unchanged output on validation text. Measurements are null when they were not finite.
  """
  type LayerSensitivity {
    layer: String!
    "Weights in the layer."
    weights: Float!
    "Probe: round-to-nearest bits (null for a pruning probe)."
    bits: Int
    "Probe: fraction of the layer's weights set to zero (null for a bits probe)."
    sparsity: Float
    "Stored bits per weight of the layer under the probe, scales included (null for pruning)."
    bitsPerWeight: Float
    "Mean KL divergence (nats per token) from the unchanged model."
    kl: Float
    "Share of tokens whose most likely next token is unchanged."
    top1: Float
    "Perplexity with the probe minus perplexity without it."
    pplDelta: Float
  }

  extend type Run {
    "Per-layer sensitivity of the output model (recipe.eval.sensitivity); null when the recipe did not ask for it."
    sensitivity: [LayerSensitivity!]
  }
`;
