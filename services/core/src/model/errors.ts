// Domain errors carry a stable machine-readable code; the HTTP edge maps the kind to a status.
export type DomainErrorKind = 'validation' | 'not_found' | 'conflict' | 'forbidden' | 'unauthenticated' | 'quota' | 'precondition' | 'unavailable' | 'gone';

export interface FieldViolation {
  path: string;
  message: string;
  /** Machine-readable, when the field has a problem of its own beyond the error's code. */
  code?: string;
}

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    message: string,
    readonly violations: FieldViolation[] = [],
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const notFound = (resource: string): DomainError => new DomainError('not_found', `${resource}_not_found`, `${resource.replace(/_/g, ' ')} not found`);

export const conflict = (code: string, message: string): DomainError => new DomainError('conflict', code, message);

export const invalid = (code: string, message: string, violations: FieldViolation[] = []): DomainError =>
  new DomainError('validation', code, message, violations);

/**
 * The value an invariant guarantees (a row just written in the same request, a field every built
 * manifest sets). Missing means a bug, not a caller's mistake: it stays an opaque 500 at the HTTP
 * edge and a retried failure in the worker, as the `!` it replaces would have (via a TypeError).
 */
export function required<T>(value: T | null | undefined, what: string): T {
  // eslint-disable-next-line no-restricted-syntax -- only reached on a broken invariant; nothing a caller can do
  if (value === null || value === undefined) throw new Error(`${what} is unexpectedly missing`);
  return value;
}
