// A simulated container's output as the kubelet reads it back from the runtime's log file
// (`/containerLogs/{ns}/{pod}/{container}`): timestamped lines, tail, since, byte limit, follow.

export interface LogReadOptions {
  follow: boolean;
  timestamps: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  sinceTime?: Date;
  limitBytes?: number;
}

interface Entry {
  at: Date;
  line: string;
}

/** RFC3339Nano as the CRI log format writes it (nanoseconds, trailing zeros kept off). */
function rfc3339Nano(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, (_, millis: string) => `.${`${millis}000000`.replace(/0+$/, '') || '0'}Z`);
}

export class ContainerLog {
  private readonly entries: Entry[] = [];
  private readonly followers = new Set<{ push(entry: Entry): void; end(): void }>();
  private ended = false;

  write(line: string): void {
    if (this.ended) return;
    const entry = { at: new Date(), line };
    this.entries.push(entry);
    for (const follower of this.followers) follower.push(entry);
  }

  /** The container stopped: followers get the end of the stream. */
  end(): void {
    this.ended = true;
    for (const follower of this.followers) follower.end();
    this.followers.clear();
  }

  /**
   * Writes the selected lines with `emit`; with `follow`, keeps writing new ones until the
   * container stops or `signal` aborts. The byte limit counts what was emitted, timestamps included.
   */
  async read(options: LogReadOptions, emit: (text: string) => void, signal: AbortSignal): Promise<void> {
    const since = options.sinceTime ?? (options.sinceSeconds !== undefined ? new Date(Date.now() - options.sinceSeconds * 1000) : undefined);
    let selected = since ? this.entries.filter((entry) => entry.at >= since) : [...this.entries];
    if (options.tailLines !== undefined) selected = options.tailLines === 0 ? [] : selected.slice(-options.tailLines);
    let remaining = options.limitBytes ?? Number.POSITIVE_INFINITY;
    const send = (entry: Entry): boolean => {
      if (remaining <= 0) return false;
      const text = `${options.timestamps ? `${rfc3339Nano(entry.at)} ` : ''}${entry.line}\n`;
      const bytes = Buffer.from(text);
      const part = bytes.length > remaining ? bytes.subarray(0, remaining).toString() : text;
      remaining -= bytes.length;
      emit(part);
      return remaining > 0;
    };
    for (const entry of selected) if (!send(entry)) return;
    if (!options.follow || this.ended || signal.aborted) return;
    await new Promise<void>((resolve) => {
      const follower = {
        push: (entry: Entry) => {
          if (!send(entry)) finish();
        },
        end: () => finish(),
      };
      const finish = (): void => {
        this.followers.delete(follower);
        signal.removeEventListener('abort', finish);
        resolve();
      };
      this.followers.add(follower);
      signal.addEventListener('abort', finish, { once: true });
    });
  }
}
