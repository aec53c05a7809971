/** The table every page lists rows in: headings from a list, rows from its children. */
import type { ReactNode } from 'react';

/** A column of a Table: its heading, or its heading and the class of the heading's cell. */
export type Column = string | [heading: string, className: string];

/** A table in its own sideways scroller, so a wide one never widens the page. */
export function Table({
  columns,
  testId,
  className,
  children,
}: {
  columns: Column[];
  testId?: string;
  className?: string;
  children: ReactNode;
}) {
  return (
    <div className="table-wrap">
      <table className={className} data-testid={testId}>
        <thead>
          <tr>
            {columns.map((c) => {
              const [heading, cls] = typeof c === 'string' ? [c, undefined] : c;
              return (
                <th key={heading} className={cls}>
                  {heading}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
