/**
 * Which recorded series share a chart: names ending in the same figure (`steps.0.train.loss`
 * and `steps.0.eval.loss` both end in `loss`) are overlaid, so training and evaluation
 * curves read against each other. Pure.
 */
export function groupSeries(names: ReadonlyArray<string>): { title: string; names: string[] }[] {
  const groups = new Map<string, string[]>();
  for (const name of [...names].sort()) {
    const last = name.split('.').pop() ?? name;
    groups.set(last, [...(groups.get(last) ?? []), name]);
  }
  return [...groups.entries()].map(([title, members]) => ({ title: members.length === 1 ? members[0]! : title, names: members }));
}
