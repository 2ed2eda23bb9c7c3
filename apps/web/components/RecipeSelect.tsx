import type { RecipeChoice } from '../client/recipes';

/** The saved-recipe picker of the recipes page's "start a run" and the sweep form: each version by name and number. */
export function RecipeSelect({
  value,
  recipes,
  onChange,
  testId,
}: {
  value: string;
  recipes: ReadonlyArray<RecipeChoice>;
  onChange: (recipeId: string) => void;
  testId?: string;
}) {
  return (
    <select value={value} onChange={(e) => onChange(e.target.value)} data-testid={testId}>
      {recipes.map((r) => (
        <option key={r.id} value={r.id}>
          {r.name} v{r.version}
        </option>
      ))}
    </select>
  );
}
