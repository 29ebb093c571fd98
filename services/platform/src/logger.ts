// Structured JSON logs. Secrets are removed twice: known secret fields by path, and anything
// that looks like a credential by pattern, so a secret in an error message is caught too.
import type { LoggerService } from '@nestjs/common';
import pino, { type Logger } from 'pino';

const SECRET_KEYS =
  /^(authorization|cookie|password|secret.*|.*token|kubeconfig|.*_key|.*Key|privateKey|key|sealed.*|userData|user_data|secretAccessKey|accessKeyId)$/;
const SECRET_PATTERNS: Array<[RegExp, string]> = [
  [/hm_[a-z0-9]{12}_[A-Za-z0-9_-]{43}/g, 'hm_[REDACTED]'],
  [/Bearer\s+[A-Za-z0-9._~+/=-]+/gi, 'Bearer [REDACTED]'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[REDACTED PRIVATE KEY]'],
  [/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g, '[REDACTED BOOTSTRAP TOKEN]'],
  [/\b(AKIA|ASIA)[A-Z0-9]{12,}\b/g, '[REDACTED AWS KEY ID]'],
  [/\bdop_v1_[a-f0-9]{64}\b/g, '[REDACTED DO TOKEN]'],
];

export function scrubText(text: string): string {
  return SECRET_PATTERNS.reduce((value, [pattern, replacement]) => value.replace(pattern, replacement), text);
}

export function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { type: value.name, message: scrubText(value.message), stack: value.stack ? scrubText(value.stack) : undefined };
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1));
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    result[key] = SECRET_KEYS.test(key) && item !== undefined && item !== null ? '[REDACTED]' : scrub(item, depth + 1);
  }
  return result;
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'harbormaster' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((arg) => scrub(arg)) as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}

/** Lets NestJS's own messages flow through the same scrubbing JSON logger. */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}
