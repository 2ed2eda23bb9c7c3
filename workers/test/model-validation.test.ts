import { GraphBuilder, makeTensor, serializeModel } from '@distillery/onnx';
import { toTokenizerJson, trainBpe } from '@distillery/nn';
import { describe, expect, it } from 'vitest';
import { checkModel, checkTokenizer, decodeForImport, ModelRejectedError } from '../src/model-validation';

/** y = x @ W with an Optimum-style node name; `poison` puts a value into W. */
function tinyModel(poison?: number, dtype: 'float32' | 'float16' = 'float32') {
  const b = new GraphBuilder('tiny');
  const x = b.input('x', 'float32', [1, 4]);
  const values = Float32Array.from({ length: 12 }, (_, i) => (i % 7) / 7 - 0.5);
  if (poison !== undefined) values[5] = poison;
  const w =
    dtype === 'float32'
      ? b.initializer('model.layers.0.mlp.down_proj.weight', 'float32', [4, 3], values)
      : b.initializer('model.layers.0.mlp.down_proj.weight', 'float16', [4, 3], Uint16Array.from(values, (v) => (Number.isNaN(v) ? 0x7e00 : v === Infinity ? 0x7c00 : 0x3c00)));
  const wf = dtype === 'float32' ? w : b.op('Cast', [w], { to: { type: 'int', value: 1 } });
  const y = b.op('MatMul', [x, wf], {}, { name: '/model/layers.0/mlp/down_proj/MatMul', output: 'y' });
  b.output(y, 'float32', [1, 3]);
  return b.toModel();
}

describe('model validation (worker side of an import)', () => {
  it('accepts a real model and counts its parameters', () => {
    const { model, usesExternalData } = decodeForImport(serializeModel(tinyModel()).model);
    expect(usesExternalData).toBe(false);
    expect(checkModel(model)).toMatchObject({ parameterCount: 12, nodeCount: 1 });
  });

  it('rejects non-models and broken graphs with the reason', () => {
    expect(() => decodeForImport(new TextEncoder().encode('hello'))).toThrow(ModelRejectedError);
    const b = new GraphBuilder('broken');
    const x = b.input('x', 'float32', [1, 2]);
    b.output(b.op('MatMul', [x, 'nowhere'], {}, { output: 'y' }), 'float32', [1, 2]);
    expect(() => checkModel(b.toModel())).toThrow(/the graph is invalid: .*nowhere/);
    const empty = new GraphBuilder('empty').toModel();
    expect(() => checkModel(empty)).toThrow(/no nodes/);
  });

  it('refuses NaN and infinite weights naming the tensor and the element, in float32 and float16', () => {
    expect(() => checkModel(tinyModel(Number.NaN))).toThrow('weight "model.layers.0.mlp.down_proj.weight" holds NaN at element 5');
    expect(() => checkModel(tinyModel(-Infinity))).toThrow('holds -Infinity at element 5');
    expect(() => checkModel(tinyModel(Number.NaN, 'float16'))).toThrow('weight "model.layers.0.mlp.down_proj.weight" holds NaN at element 5');
    expect(() => checkModel(tinyModel(Infinity, 'float16'))).toThrow('holds Infinity at element 5');
    const m = tinyModel();
    m.graph.initializers.push(makeTensor('model.norm.weight', 'float32', [2], Float32Array.from([1, Number.NaN])));
    expect(() => checkModel(m)).toThrow(/"model\.norm\.weight" holds NaN at element 1/);
  });

  it('checks a tokenizer.json, naming the field', () => {
    const tok = trainBpe(['the whale and the sea'], { vocabSize: 262 });
    expect(() => checkTokenizer(JSON.stringify(toTokenizerJson(tok)), 'tokenizerSha256')).not.toThrow();
    expect(() => checkTokenizer('{"model": {"type": "WordPiece"}}', 'tokenizerSha256')).toThrow(/^tokenizerSha256: not a usable tokenizer\.json/);
    expect(() => checkTokenizer('not json', 'tokenizerSha256')).toThrow(ModelRejectedError);
  });
});
