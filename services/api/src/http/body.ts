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
    if (!error) return next();
    const status = typeof error === 'object' && error !== null && 'status' in error ? Number(error.status) : 400;
    const code = status === 413 ? 'payload_too_large' : 'malformed_json';
    const detail = status === 413 ? `request body exceeds ${BODY_LIMIT}` : 'request body is not valid JSON';
    sendProblem(response, request, { type: `https://harbormaster.dev/problems/${code}`, title: 'bad request', status, detail, code });
  });
}
