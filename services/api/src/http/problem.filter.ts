// Every error leaves as RFC 9457 application/problem+json with a machine-readable `code`.
import { Catch, HttpException, HttpStatus, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { DomainError, type DomainErrorKind } from '../../../core/src/index.js';
import { LOGGER } from '../../../platform/src/index.js';

const STATUS: Record<DomainErrorKind, number> = {
  validation: 422,
  not_found: 404,
  conflict: 409,
  forbidden: 403,
  unauthenticated: 401,
  quota: 422,
  precondition: 409,
  unavailable: 503,
  gone: 410,
};

/** Validation codes that say the request is malformed (400) rather than well-formed but refused (422). */
const MALFORMED_REQUEST = new Set(['invalid_type', 'invalid_query']);

const HTTP_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: Array<{ path: string; message: string; code?: string }>;
}

export function problemFor(error: unknown): Problem {
  if (error instanceof DomainError) {
    const status = error.kind === 'validation' && MALFORMED_REQUEST.has(error.code) ? 400 : STATUS[error.kind];
    return {
      type: `https://harbormaster.dev/problems/${error.code}`,
      title: error.kind.replace(/_/g, ' '),
      status,
      detail: error.message,
      code: error.code,
      ...(error.violations.length ? { errors: error.violations } : {}),
    };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const code = HTTP_CODES[status] ?? (status >= 500 ? 'internal_error' : 'bad_request');
    return {
      type: `https://harbormaster.dev/problems/${code}`,
      title: HttpStatus[status]?.toLowerCase().replace(/_/g, ' ') ?? 'error',
      status,
      detail: error.message,
      code,
    };
  }
  return {
    type: 'https://harbormaster.dev/problems/internal_error',
    title: 'internal error',
    status: 500,
    detail: 'an unexpected error occurred',
    code: 'internal_error',
  };
}

export function sendProblem(response: Response, request: Request, problem: Problem): void {
  if (problem.status === 401) response.setHeader('WWW-Authenticate', 'Bearer realm="harbormaster"');
  response
    .status(problem.status)
    .type('application/problem+json')
    .send(JSON.stringify({ ...problem, instance: request.originalUrl.split('?')[0] }));
}

@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const response = http.getResponse<Response>();
    const request = http.getRequest<Request>();
    const problem = problemFor(error);
    if (problem.status >= 500) this.logger.error({ err: error, path: request.path }, 'request failed');
    if (response.headersSent) {
      response.end();
      return;
    }
    sendProblem(response, request, problem);
  }
}
