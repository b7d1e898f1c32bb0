/** Plain-text tables and times for the command line. */

/** Rows under their headers, columns padded to their widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Name and value pairs, the values lined up. */
export function fields(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n');
}

/** `3m ago`, `in 2h`, or `-`: unix seconds against `now`. */
export function relative(at: number | null, now: number): string {
  if (at === null) return '-';
  const seconds = Math.abs(now - at);
  const size = seconds < 90 ? `${seconds}s` : seconds < 5400 ? `${Math.round(seconds / 60)}m` : seconds < 172_800 ? `${Math.round(seconds / 3600)}h` : `${Math.round(seconds / 86_400)}d`;
  return at <= now ? `${size} ago` : `in ${size}`;
}
