/** A cell: strings are left-aligned, numbers right-aligned; null/undefined show as "-". */
export type Cell = string | number | null | undefined;

export interface Column {
  header: string;
  /** Default: right when the column holds numbers, else left. */
  align?: "left" | "right";
}

const GAP = "  ";

function render(cell: Cell): string {
  if (cell === null || cell === undefined) return "-";
  if (typeof cell === "number") {
    if (!Number.isFinite(cell)) return String(cell);
    return Number.isInteger(cell) ? String(cell) : cell.toFixed(1);
  }
  return cell;
}

/** Pads every column to its widest cell; no trailing spaces. Returns the lines joined by "\n". */
export function formatTable(columns: ReadonlyArray<Column | string>, rows: ReadonlyArray<ReadonlyArray<Cell>>): string {
  const cols: Column[] = columns.map((c) => (typeof c === "string" ? { header: c } : c));
  const align = cols.map((c, i) => c.align ?? (rows.some((r) => typeof r[i] === "number") ? "right" : "left"));
  const text = rows.map((r) => cols.map((_, i) => render(r[i])));
  const widths = cols.map((c, i) => Math.max(c.header.length, ...text.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => {
        const width = widths[i] ?? 0;
        return align[i] === "right" ? cell.padStart(width) : cell.padEnd(width);
      })
      .join(GAP)
      .trimEnd();
  return [line(cols.map((c) => c.header)), ...text.map(line)].join("\n");
}

/** `key  value` lines with the keys padded to the longest. */
export function formatPairs(pairs: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}${GAP}${v}`.trimEnd()).join("\n");
}
