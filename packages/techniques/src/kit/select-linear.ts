/**
 * Which linear layers a method rewrites. `linearSelectionParams` is a zod shape methods
 * spread into their own parameter schema (`z.object({ ...linearSelectionParams, bits })`);
 * `selectLinearLayers(model, selection)` returns the chosen layers with their block and
 * role, the layers left out with the reason, and everything found, so a selection that
 * matches nothing can say what was there.
 */
import { z } from 'zod';
import { blockFromName, roleFromName, type LinearRole, type Model } from '@distillery/onnx';
import { findLinearWeights, linearLayerName, type LinearWeight } from '../linear-weights';

const ROLES = ['q', 'k', 'v', 'o', 'qkv', 'gate', 'up', 'gate_up', 'down', 'lm_head', 'other'] as const satisfies readonly LinearRole[];

export const linearSelectionParams = {
  /** Only layers of these transformer blocks (0-based); omitted = every block. */
  blocks: z.array(z.number().int().nonnegative()).optional(),
  /** Only layers of these roles; omitted = every role. */
  roles: z.array(z.enum(ROLES)).optional(),
  /** Only layers whose MatMul node name or weight name matches this regular expression. */
  match: z
    .string()
    .min(1)
    .refine((s) => {
      try {
        new RegExp(s);
        return true;
      } catch {
        return false;
      }
    }, 'match must be a valid regular expression')
    .optional(),
  /** A layer is left alone when its MatMul node name or weight name contains any of these. */
  skip: z.array(z.string().min(1)).default([]),
  /** Layers whose weight has fewer elements than this are left alone (scales would eat the gain). */
  minSize: z.number().int().nonnegative().default(0),
  /** Include the LM head (the output projection to the vocabulary). */
  lmHead: z.boolean().default(true),
  /**
   * Also rewrite an LM head tied to the embedding table (MatMul over its Transpose): the head
   * becomes a weight of its own and the table stays for the embedding lookup, so the file
   * grows by the rewritten head. Off by default.
   */
  tiedHead: z.boolean().default(false),
};

const selectionSchema = z.object(linearSelectionParams);
export type LinearSelection = z.output<typeof selectionSchema>;
export type LinearSelectionInput = z.input<typeof selectionSchema>;

export interface SelectedLayer {
  layer: LinearWeight;
  name: string;
  block: number | null;
  role: LinearRole;
}

export interface LinearSelectionResult {
  selected: SelectedLayer[];
  skipped: { name: string; reason: string }[];
  found: SelectedLayer[];
}

function describe(l: SelectedLayer): string {
  return `${l.name} (block ${l.block ?? '-'}, ${l.role}, ${l.layer.inFeatures}x${l.layer.outFeatures} ${l.layer.weight.dtype})`;
}

export function selectLinearLayers(model: Model, input: LinearSelectionInput = {}): LinearSelectionResult {
  const sel = selectionSchema.parse(input);
  const re = sel.match ? new RegExp(sel.match) : undefined;
  const found = findLinearWeights(model).map((layer) => {
    const name = linearLayerName(layer);
    // The node name carries Optimum's path; fall back to the weight name for other exporters.
    const role = roleFromName(name) !== 'other' ? roleFromName(name) : roleFromName(layer.weight.name);
    return { layer, name, block: blockFromName(name) ?? blockFromName(layer.weight.name), role };
  });
  const selected: SelectedLayer[] = [];
  const skipped: { name: string; reason: string }[] = [];
  for (const l of found) {
    const names = [l.name, l.layer.weight.name];
    let reason: string | undefined;
    if (l.layer.transpose && !sel.tiedHead) reason = 'it is tied to the embedding table (set tiedHead to give it its own weight)';
    else if (!l.layer.exclusive && !l.layer.transpose) reason = 'its weight is also read by something other than MatMuls (tied embedding)';
    else if (l.layer.weight.raw.byteLength === 0) reason = 'its weight has no data';
    else if (!sel.lmHead && l.role === 'lm_head') reason = 'lmHead is false';
    else if (sel.blocks && (l.block === null || !sel.blocks.includes(l.block))) reason = `block ${l.block ?? 'none'} is not in blocks`;
    else if (sel.roles && !sel.roles.includes(l.role)) reason = `role ${l.role} is not in roles`;
    else if (re && !names.some((n) => re.test(n))) reason = `does not match ${sel.match}`;
    else if (sel.skip.some((s) => names.some((n) => n.includes(s)))) reason = 'named in skip';
    else if (l.layer.inFeatures * l.layer.outFeatures < sel.minSize) reason = `smaller than minSize ${sel.minSize}`;
    if (reason) skipped.push({ name: l.name, reason });
    else selected.push(l);
  }
  return { selected, skipped, found };
}

// Linear layers whose weights are stored quantized: contrib and standard integer MatMuls.
const QUANTIZED_LINEAR_OPS = new Set(['MatMulNBits', 'MatMulBnb4', 'MatMulInteger', 'QLinearMatMul', 'DynamicQuantizeMatMul', 'QAttention', 'GatherBlockQuantized']);

/** "12 MatMulNBits nodes"-style counts of linear layers with quantized weights, including MatMuls over a DequantizeLinear. */
function quantizedLinearCounts(model: Model): string[] {
  const dequantized = new Set(model.graph.nodes.filter((n) => n.opType === 'DequantizeLinear').flatMap((n) => n.outputs));
  const counts = new Map<string, number>();
  for (const n of model.graph.nodes) {
    const label = QUANTIZED_LINEAR_OPS.has(n.opType) ? n.opType : n.opType === 'MatMul' && dequantized.has(n.inputs[1] ?? '') ? 'MatMul over DequantizeLinear' : null;
    if (label) counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return [...counts].map(([op, k]) => `${k} ${op} node${k === 1 ? '' : 's'}`);
}

/** The error a method raises when its selection is empty, listing what the model has. */
export function noLayerMatched(technique: string, model: Model, result: LinearSelectionResult): Error {
  if (!result.found.length) {
    const ops = [...new Set(model.graph.nodes.map((n) => n.opType))].sort().join(', ');
    const quantized = quantizedLinearCounts(model);
    if (quantized.length) {
      return new Error(`${technique}: model has no float MatMul weights: found ${quantized.join(', ')} (weights already quantized, which this technique does not rewrite)`);
    }
    return new Error(`${technique}: no linear layer matched: the model has no MatMul reading a constant 2-D float weight (its ops: ${ops || 'none'})`);
  }
  const shown = result.found.slice(0, 12).map((l) => {
    const why = result.skipped.find((s) => s.name === l.name)?.reason;
    return `${describe(l)}${why ? `: ${why}` : ''}`;
  });
  const more = result.found.length > shown.length ? `, and ${result.found.length - shown.length} more` : '';
  return new Error(`${technique}: no linear layer matched the selection; found ${result.found.length}: ${shown.join('; ')}${more}`);
}
