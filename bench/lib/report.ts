// The result table: one row per figure, printed to the console and written to BENCHMARKS.md.

export interface ResultRow {
  /** Which of the benchmarks (1..4). */
  section: string;
  measure: string;
  value: string;
  /** The seed's target for this figure, if it has one. */
  target?: string;
  /** Whether the target was met; undefined when there is no target. */
  met?: boolean;
  note?: string;
}

export function verdict(row: ResultRow): string {
  if (row.met === undefined) return "";
  return row.met ? "met" : "**missed**";
}

export function markdownTable(rows: ResultRow[]): string {
  const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");
  const lines = ["| # | measure | value | target | verdict | note |", "| --- | --- | --- | --- | --- | --- |"];
  for (const row of rows) {
    lines.push(`| ${row.section} | ${cell(row.measure)} | ${cell(row.value)} | ${cell(row.target ?? "")} | ${verdict(row)} | ${cell(row.note ?? "")} |`);
  }
  return lines.join("\n");
}

export function consoleTable(rows: ResultRow[]): string {
  const columns = rows.map((row) => [row.section, row.measure, row.value, row.target ?? "", verdict(row).replaceAll("*", "")]);
  const header = ["#", "measure", "value", "target", "verdict"];
  const widths = header.map((h, i) => Math.max(h.length, ...columns.map((c) => c[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...columns.map(line)].join("\n");
}
