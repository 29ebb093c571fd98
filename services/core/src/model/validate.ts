import type { z } from 'zod';
import { invalid, type FieldViolation } from './errors.js';

interface IssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  params?: Record<string, unknown>;
  keys?: string[];
  format?: string;
}

function codeOf(issue: IssueLike): string {
  if (issue.code === 'custom' && typeof issue.params?.code === 'string') return issue.params.code;
  switch (issue.code) {
    case 'unrecognized_keys':
      return 'unknown_field';
    case 'invalid_type':
      return 'invalid_type';
    case 'too_big':
      return 'too_large';
    case 'too_small':
      return 'too_small';
    case 'invalid_format':
      return `invalid_${issue.format ?? 'format'}`;
    case 'invalid_value':
    case 'invalid_union':
      return 'invalid_value';
    default:
      return 'invalid_field';
  }
}

/** Parses `input`, or throws a validation DomainError listing every violation. */
export function parseInput<Schema extends z.ZodType>(schema: Schema, input: unknown): z.output<Schema> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues as IssueLike[];
  const violations: Array<FieldViolation & { code: string }> = issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const keys = issue.code === 'unrecognized_keys' && issue.keys ? `: ${issue.keys.join(', ')}` : '';
    return { path: path || '(body)', message: `${issue.message}${keys}`, code: codeOf(issue) };
  });
  const first = violations[0];
  throw invalid(first.code, `${first.path === '(body)' ? 'request body' : first.path}: ${first.message}`, violations);
}
