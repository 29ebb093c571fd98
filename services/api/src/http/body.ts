// JSON body handling in front of Nest, so malformed, oversized or non-JSON bodies also get
// problem+json answers instead of Express's HTML error page.
import express, { type NextFunction, type Request, type Response } from 'express';
import { DomainError } from '../../../core/src/index.js';
import { problemFor, sendProblem } from './problem.filter.js';

const BODY_LIMIT = '256kb';
const jsonParser = express.json({ limit: BODY_LIMIT, strict: false, type: ['application/json', 'application/*+json'] });

export function jsonBodyMiddleware(request: Request, response: Response, next: NextFunction): void {
  const hasBody = Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined;
  if (hasBody && ['POST', 'PUT', 'PATCH'].includes(request.method) && !request.is(['application/json', 'application/*+json'])) {
    sendProblem(response, request, {
      ...problemFor(new DomainError('validation', 'unsupported_media_type', 'request bodies must be application/json')),
      status: 415,
    });
    return;
  }
  jsonParser(request, response, (error?: unknown) => {
    if (!error) {
      const problem = bodyProblem(request.body as unknown);
      if (!problem) return next();
      sendProblem(response, request, { ...problemFor(problem.error), status: problem.status });
      return;
    }
    const status = typeof error === 'object' && error !== null && 'status' in error ? Number(error.status) : 400;
    const code = status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_charset' : 'malformed_json';
    const detail =
      status === 413 ? `request body exceeds ${BODY_LIMIT}` : status === 415 ? 'JSON request bodies must be UTF-8' : 'request body is not valid JSON';
    sendProblem(response, request, { type: `https://harbormaster.dev/problems/${code}`, title: 'bad request', status, detail, code });
  });
}

/**
 * What JSON.parse lets through but nothing behind it may see: a lone UTF-16 surrogate (`"\ud800"`)
 * cannot be stored as UTF-8 (PostgreSQL refuses it) or shown, and a `__proto__` key is dropped or,
 * worse, honoured by the object code downstream. Either fails the whole request before anything runs.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * No request schema nests deeper than a handful of levels. JSON.parse accepts any depth, and a
 * recursive walk of a body thousands of levels deep overflows the stack outside Nest's error
 * handling, which ends the process: the walk is iterative and stops at this depth.
 */
export const MAX_BODY_DEPTH = 32;

function bodyProblem(body: unknown): { status: number; error: DomainError } | undefined {
  const pending: Array<{ value: unknown; path: string[] }> = [{ value: body, path: [] }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value, path } = next;
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value))
        return { status: 400, error: new DomainError('validation', 'invalid_unicode', `${where(path)} contains a lone UTF-16 surrogate, which is not text`) };
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (path.length >= MAX_BODY_DEPTH) {
      return { status: 400, error: new DomainError('validation', 'nesting_too_deep', `the body nests deeper than ${MAX_BODY_DEPTH} levels`) };
    }
    const children: typeof pending = [];
    for (const [key, child] of Object.entries(value)) {
      if (LONE_SURROGATE.test(key))
        return { status: 400, error: new DomainError('validation', 'invalid_unicode', `a key of ${where(path)} contains a lone UTF-16 surrogate`) };
      if (key === '__proto__') {
        return {
          status: 422,
          error: new DomainError('validation', 'forbidden_key', `${where(path)} may not have a key named __proto__`, [
            { path: [...path, key].join('.'), message: 'the key __proto__ is not allowed' },
          ]),
        };
      }
      children.push({ value: child, path: [...path, key] });
    }
    // Reversed onto the stack, so the first problem in document order is the one reported.
    pending.push(...children.reverse());
  }
  return undefined;
}

function where(path: string[]): string {
  return path.length === 0 ? 'the body' : `body.${path.join('.')}`;
}
