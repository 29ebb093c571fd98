import type { Logger } from 'pino';

/**
 * On SIGTERM or SIGINT: stop taking work, let running jobs and requests finish, close the
 * database and Redis, and exit 0. A shutdown that hangs past the timeout exits 1.
 */
export function closeGracefully(close: () => Promise<void>, timeoutSeconds: number, logger: Logger): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error({ timeoutSeconds }, 'shutdown timed out');
      process.exit(1);
    }, timeoutSeconds * 1000).unref();
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
