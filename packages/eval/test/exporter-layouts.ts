/**
 * The tiny decoder re-wired into the interfaces other exporters produce, by editing the graph
 * (same weights, same math): Optimum without a cache, an older ORT GPT-2 export (int32 ids,
 * float mask, `past_i`/`present_i` stacking key and value), and a float16 cache and logits.
 */
import { attr, int64Tensor, type Model, type Node } from '@distillery/onnx';

const node = (name: string, opType: string, inputs: string[], outputs: string[], attributes: Node['attributes'] = {}): Node => ({ name, opType, domain: '', inputs, outputs, attributes });

function clone(model: Model): Model {
  const g = model.graph;
  return { ...model, graph: { ...g, nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs] })), inputs: [...g.inputs], outputs: [...g.outputs], initializers: [...g.initializers] } };
}

function replaceUses(model: Model, from: string, to: string): void {
  for (const n of model.graph.nodes) n.inputs = n.inputs.map((i) => (i === from ? to : i));
}

function renameOutput(model: Model, from: string, to: string): void {
  for (const n of model.graph.nodes) n.outputs = n.outputs.map((o) => (o === from ? to : o));
}

const layers = (model: Model): number => model.graph.inputs.filter((i) => /^past_key_values\.\d+\.key$/.test(i.name)).length;

/**
 * Optimum's export without past_key_values: each cache Concat becomes the new keys alone, and
 * a GroupQueryAttention loses its optional past inputs (it then attends to the new keys alone).
 */
export function withoutCache(model: Model): Model {
  const m = clone(model);
  for (const n of m.graph.nodes) {
    if (n.opType === 'Concat' && n.inputs[0]?.startsWith('past_key_values.')) {
      n.opType = 'Identity';
      n.inputs = [n.inputs[1]!];
      n.attributes = {};
    }
    if (n.opType === 'GroupQueryAttention') n.inputs = n.inputs.map((i) => (i.startsWith('past_key_values.') ? '' : i));
  }
  m.graph.inputs = m.graph.inputs.filter((i) => !i.name.startsWith('past_key_values.'));
  m.graph.outputs = m.graph.outputs.filter((o) => !o.name.startsWith('present.'));
  return m;
}

/** An older ORT GPT-2 style interface: int32 input_ids, float32 attention_mask, past_i [2, b, h, T, hd] -> present_i. */
export function gpt2Style(model: Model): Model {
  const m = clone(model);
  const g = m.graph;
  const L = layers(model);
  const kv = g.inputs.find((i) => i.name === 'past_key_values.0.key')!.shape!;
  for (const [input, type, code] of [['input_ids', 'int32', 7], ['attention_mask', 'float32', 7]] as const) {
    replaceUses(m, input, `${input}_int64`);
    g.nodes.unshift(node(`/compat/${input}/Cast`, 'Cast', [input], [`${input}_int64`], { to: attr.int(code) }));
    g.inputs = g.inputs.map((i) => (i.name === input ? { ...i, dtype: type } : i));
  }
  g.initializers.push(int64Tensor('compat_zero', [], [0]), int64Tensor('compat_one', [], [1]), int64Tensor('compat_axis0', [1], [0]));
  for (let l = 0; l < L; l++) {
    for (const [part, index] of [['key', 'compat_zero'], ['value', 'compat_one']] as const) {
      replaceUses(m, `past_key_values.${l}.${part}`, `compat_past_${l}_${part}`);
      g.nodes.unshift(node(`/compat/past_${l}/${part}`, 'Gather', [`past_${l}`, index], [`compat_past_${l}_${part}`], { axis: attr.int(0) }));
      renameOutput(m, `present.${l}.${part}`, `compat_present_${l}_${part}`);
      replaceUses(m, `present.${l}.${part}`, `compat_present_${l}_${part}`);
      g.nodes.push(node(`/compat/present_${l}/${part}`, 'Unsqueeze', [`compat_present_${l}_${part}`, 'compat_axis0'], [`compat_present_${l}_${part}_5d`]));
    }
    g.nodes.push(node(`/compat/present_${l}/Concat`, 'Concat', [`compat_present_${l}_key_5d`, `compat_present_${l}_value_5d`], [`present_${l}`], { axis: attr.int(0) }));
  }
  g.inputs = g.inputs.filter((i) => !i.name.startsWith('past_key_values.'));
  for (let l = 0; l < L; l++) g.inputs.push({ name: `past_${l}`, dtype: 'float32', shape: [2, kv[0]!, kv[1]!, kv[2]!, kv[3]!] });
  g.outputs = g.outputs.filter((o) => !o.name.startsWith('present.'));
  for (let l = 0; l < L; l++) g.outputs.push({ name: `present_${l}`, dtype: 'float32', shape: [2, kv[0]!, kv[1]!, 'total_sequence_length', kv[3]!] });
  return m;
}

/** A float16 cache in and out, and float16 logits (as float16 exports have them). */
export function halfCacheAndLogits(model: Model): Model {
  const m = clone(model);
  const g = m.graph;
  for (const input of g.inputs.filter((i) => i.name.startsWith('past_key_values.'))) {
    replaceUses(m, input.name, `${input.name}_float32`);
    g.nodes.unshift(node(`/compat/${input.name}/Cast`, 'Cast', [input.name], [`${input.name}_float32`], { to: attr.int(1) }));
  }
  g.inputs = g.inputs.map((i) => (i.name.startsWith('past_key_values.') ? { ...i, dtype: 'float16' } : i));
  for (const output of g.outputs) {
    renameOutput(m, output.name, `${output.name}_float32`);
    replaceUses(m, output.name, `${output.name}_float32`);
    g.nodes.push(node(`/compat/${output.name}/Cast`, 'Cast', [`${output.name}_float32`], [output.name], { to: attr.int(10) }));
  }
  g.outputs = g.outputs.map((o) => ({ ...o, dtype: 'float16' }));
  return m;
}
