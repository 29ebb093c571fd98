// The pass loop the kubelet and the node agent share: passes run one at a time, a burst of
// triggers (watch events, local process changes) while one runs coalesces into one more pass, and
// a slow periodic pass covers missed events. Errors land in a bounded ring for recentErrors().

const ERROR_RING = 50;

export class ResyncLoop {
  private running: Promise<void> | undefined;
  private rerunRequested = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly errors: string[] = [];

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly log: ((message: string) => void) | undefined,
    private readonly prefix: string,
  ) {}

  startPeriodic(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.resync().finally(() => this.startPeriodic());
    }, this.intervalMs);
  }

  trigger(): void {
    if (!this.stopped) void this.resync();
  }

  resync(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.rerunRequested = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.rerunRequested = false;
        try {
          await this.pass();
        } catch (error) {
          this.recordError(error);
        }
      } while (this.rerunRequested && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  recordError(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.errors.push(`${new Date().toISOString()} ${message}`);
    if (this.errors.length > ERROR_RING) this.errors.shift();
    this.log?.(`${this.prefix}: ${message}`);
  }

  recentErrors(): string[] {
    return [...this.errors];
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** No pass starts after this; resolves once the one in flight (if any) has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}
