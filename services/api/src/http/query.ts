// Query parameters are input too: a malformed one gets a 400 with a code, never silently the default.
import { DomainError } from '../../../core/src/index.js';

/** A cursor: a positive event or audit id. Absent → undefined; anything else but digits → 400. */
export function cursorParam(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) {
    throw new DomainError('validation', 'invalid_query', `query parameter "${name}" must be a single non-negative integer id`);
  }
  return Number(value);
}
