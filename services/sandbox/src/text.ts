/**
 * A decoded JSON value as text: strings as they are, other scalars as `String()` renders them, objects and
 * arrays as JSON rather than `[object Object]` / comma-joined (the request fields this reads are scalars in
 * every real input, so for those it is exactly `String(value)`).
 */
export function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}
