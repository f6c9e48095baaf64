// One chart of the overview: a titled panel, the canvas (its accessible name is the summary, one
// sentence of what it shows), and the same numbers as a table behind a disclosure, for screen
// readers, keyboards and anyone who wants the exact figures.
import type { ChartConfiguration } from 'chart.js';
import { type ReactNode, useEffect, useId, useRef } from 'react';
import { Chart } from '../lib/charts.js';

export interface DataTable {
  columns: string[];
  rows: (string | number)[][];
}

export function ChartFigure(props: {
  /** Names the chart for tests and styles: `data-chart` on the canvas, `data-table` on the table. */
  name: string;
  title: string;
  summary: string;
  config: ChartConfiguration;
  table: DataTable;
  /** `tall` for charts with a row per agent. */
  size?: 'normal' | 'tall';
  /** The table is read as much as the chart: shown, not behind a disclosure. */
  tableShown?: boolean;
  /** Headline figures shown above the chart. */
  children?: ReactNode;
}) {
  const headingId = useId();
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, props.config);
    return () => chart.destroy();
  }, [props.config]);
  return (
    <section className="panel chart-panel" aria-labelledby={headingId}>
      <h2 id={headingId}>{props.title}</h2>
      {props.children}
      <div className={`chart-box chart-box-${props.size ?? 'normal'}`}>
        <canvas ref={canvas} role="img" aria-label={props.summary} data-chart={props.name}>
          {props.summary}
        </canvas>
      </div>
      {props.tableShown ? (
        <NumbersTable caption={props.title} table={props.table} name={props.name} />
      ) : (
        <details className="chart-data">
          <summary>Show the numbers as a table</summary>
          <NumbersTable caption={props.title} table={props.table} name={props.name} />
        </details>
      )}
    </section>
  );
}

/**
 * A plain table of figures: the first column names the row, the others are numbers. Its columns
 * share the width and long names wrap, so it fits a phone without scrolling sideways.
 */
export function NumbersTable({ caption, table, name }: { caption: string; table: DataTable; name: string }) {
  return (
    <table className="grid numbers" data-table={name}>
      <caption className="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          {table.columns.map((column) => (
            <th key={column} scope="col">
              {column}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {table.rows.map((row) => (
          <tr key={`${row[0]}/${row[1]}`}>
            {row.map((cell, index) =>
              index === 0 ? (
                // biome-ignore lint/suspicious/noArrayIndexKey: the columns are fixed
                <th key={index} scope="row">
                  {cell}
                </th>
              ) : (
                // biome-ignore lint/suspicious/noArrayIndexKey: the columns are fixed
                <td key={index}>{cell}</td>
              ),
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
