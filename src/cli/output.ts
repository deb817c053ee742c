import pc from 'picocolors';
import { formatDuration } from '../core/duration';
import { displayWidth, truncateToWidth } from './display-width';

/**
 * Colour only on a terminal: NO_COLOR turns it off, FORCE_COLOR on (even piped), TERM=dumb off. Decided here rather
 * than by picocolors' own guess, which also colours any output under CI.
 */
export function colorEnabled(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return isTTY && env.TERM !== 'dumb';
}

const colors = pc.createColors(colorEnabled(process.env, process.stdout.isTTY === true));

const STATE_COLORS: Record<string, (text: string) => string> = {
  completed: colors.green, failed: colors.yellow, dead: colors.red, cancelled: colors.gray, processing: colors.cyan, waiting: colors.magenta,
};

export function colorState(state: string): string {
  return (STATE_COLORS[state] ?? String)(state);
}

export function printLine(text = ''): void {
  process.stdout.write(`${text}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Lays out a table with a header row. With a `width` (a terminal's columns), the widest column (a job's command, a
 * description) is cut with `…` so each line fits; without one (piped output) every cell stays whole.
 */
export function formatTable(headers: string[], rows: string[][], width: number | null): string[] {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => displayWidth(row[i] ?? ''))));
  let cells = rows;
  const total = widths.reduce((sum, w) => sum + w, 0) + 2 * (widths.length - 1);
  if (width !== null && total > width) {
    const widest = widths.indexOf(Math.max(...widths));
    const room = Math.max(headers[widest]!.length, 8, widths[widest]! - (total - width));
    widths[widest] = room;
    cells = rows.map((row) => row.map((cell, i) => (i === widest ? truncateToWidth(cell, room) : cell)));
  }
  const line = (row: string[]) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(Math.max(0, widths[i]! - displayWidth(cell))))).join('  ').trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...cells.map(line)];
}

/** Prints a table: fitted to the terminal when stdout is one, whole when piped. */
export function printTable(headers: string[], rows: string[][]): void {
  const width = process.stdout.isTTY === true && process.stdout.columns > 0 ? process.stdout.columns : null;
  for (const text of formatTable(headers, rows, width)) printLine(text);
}

/** "12s ago" / "in 5m00s" relative to `now`. */
export function relativeTime(at: number | null, now: number): string {
  if (at === null) return '-';
  const delta = at - now;
  return delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
}
