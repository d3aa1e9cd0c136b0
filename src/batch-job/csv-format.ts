/** One field as RFC 4180 writes it: quoted when it holds the delimiter, a quote or a line break. */
export function csvField(value: string, delimiter: string): string {
  const needsQuotes = value.includes(delimiter) || value.includes('"') || value.includes('\n') || value.includes('\r');
  return needsQuotes ? `"${value.replaceAll('"', '""')}"` : value;
}

/** One record, with its line ending. */
export function csvLine(values: readonly string[], delimiter: string): string {
  return values.map((value) => csvField(value, delimiter)).join(delimiter) + '\n';
}

/** A JSON value as a cell: strings as they are, nothing as empty, objects and arrays as JSON. */
export function cellOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
