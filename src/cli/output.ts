import { formatDuration } from '../core/duration';

/** Results go to stdout; colour only on a terminal without NO_COLOR. */
const useColor = process.stdout.isTTY === true && !process.env.NO_COLOR;

const STATE_COLORS: Record<string, number> = { completed: 32, failed: 33, dead: 31, cancelled: 90, processing: 36, pending: 0, waiting: 35 };

export function colorState(state: string): string {
  const code = STATE_COLORS[state] ?? 0;
  return useColor && code !== 0 ? `\x1b[${code}m${state}\x1b[0m` : state;
}

export function printLine(text = ''): void {
  process.stdout.write(`${text}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

const visibleLength = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '').length;

/** A plain aligned table with a header row; cells are cut to `maxWidth` characters. */
export function printTable(headers: string[], rows: string[][], maxWidth = 60): void {
  const cut = (cell: string) => (visibleLength(cell) > maxWidth ? `${cell.slice(0, maxWidth - 1)}…` : cell);
  const cells = rows.map((row) => row.map(cut));
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((row) => visibleLength(row[i] ?? ''))));
  const line = (row: string[]) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visibleLength(cell)))).join('  ').trimEnd();
  printLine(line(headers.map((h) => h.toUpperCase())));
  for (const row of cells) printLine(line(row));
}

/** "12s ago" / "in 5m00s" relative to `now`. */
export function relativeTime(at: number | null, now: number): string {
  if (at === null) return '-';
  const delta = at - now;
  return delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
}
