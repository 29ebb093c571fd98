// Fault windows a test opens on a kubesim API server: for a while, matching requests answer an
// error (the 5xx an overloaded or restarting apiserver gives: 503 with Retry-After, or a 500) or
// are answered late. Scoped to usernames so a seed can fail for Harbormaster while its own
// kubelet and controllers, which stand in for the seed's infrastructure, keep working.
import { setTimeout as sleep } from 'node:timers/promises';
import type { UserInfo } from '../contracts.js';
import { ApiError } from './errors.js';

export interface FaultScope {
  /** Only requests authenticated as one of these users; every request when absent. */
  users?: readonly string[];
}

interface FaultWindow extends FaultScope {
  until: number;
  status?: 500 | 503;
  delayMs?: number;
}

export class ApiFaults {
  private windows: FaultWindow[] = [];
  private answered = 0;

  /** For `forMs`, matching requests fail with `status` (503 carries Retry-After: 1, as the apiserver's max-in-flight filter does). */
  failFor(forMs: number, status: 500 | 503 = 503, scope: FaultScope = {}): this {
    this.windows.push({ ...scope, until: Date.now() + forMs, status });
    return this;
  }

  /** For `forMs`, matching requests are held `delayMs` before they are served. */
  delayFor(forMs: number, delayMs: number, scope: FaultScope = {}): this {
    this.windows.push({ ...scope, until: Date.now() + forMs, delayMs });
    return this;
  }

  clear(): void {
    this.windows = [];
  }

  /** Requests a fault window changed (failed or delayed) so far: a test proves its fault really hit. */
  get faultedRequests(): number {
    return this.answered;
  }

  /** Applies the open windows that match this request: waits, then throws the error if any. */
  async apply(user: UserInfo): Promise<void> {
    const now = Date.now();
    this.windows = this.windows.filter((window) => window.until > now);
    const matching = this.windows.filter((window) => !window.users || window.users.includes(user.username));
    if (matching.length === 0) return;
    this.answered += 1;
    const delayMs = Math.max(0, ...matching.map((window) => window.delayMs ?? 0));
    if (delayMs > 0) await sleep(delayMs);
    const failing = matching.find((window) => window.status !== undefined);
    if (failing?.status === 503)
      throw new ApiError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request', { retryAfterSeconds: 1 });
    if (failing?.status === 500)
      throw new ApiError(500, 'InternalError', 'Internal error occurred: injected fault', { causes: [{ message: 'injected fault' }] });
  }
}
