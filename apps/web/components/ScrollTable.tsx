import type { ReactNode } from 'react';

/** A column heading; `num` right-aligns a column of figures. Null or false leaves the column out. */
export type Column = string | { label: string; num: boolean } | null | false;

/** The dashboard's tables: a horizontally scrolling box, one header row of column headings, then the rows. */
export function ScrollTable({ testId, columns, children }: { testId: string; columns: Column[]; children: ReactNode }) {
  return (
    <div className="table-scroll">
      <table data-testid={testId}>
        <thead>
          <tr>
            {columns.map((c) =>
              !c ? null : typeof c === 'string' ? (
                <th key={c} scope="col">
                  {c}
                </th>
              ) : (
                <th key={c.label} scope="col" className={c.num ? 'num' : undefined}>
                  {c.label}
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
