// Per-account request budget hook for the drivers: every HTTP request a driver's client sends,
// each retry included, waits for the account's budget first (see services/clouds/README.md).
import type { CloudProvider } from './driver.js';
import { CloudError, TransientCloudError } from './retry.js';

export interface CloudRequestBudget {
  /** Anything with acquire(accountKey) (the platform's Redis limiter implements it). */
  limiter: { acquire(accountKey: string): Promise<void> };
  /** Which budget to draw from: one per provider account (the worker uses the credential id). */
  accountKey: string;
}

/** Waits for one request's slot. A limiter that cannot answer is a transient failure, never a validation one. */
export async function acquireRequestSlot(provider: CloudProvider, budget: CloudRequestBudget): Promise<void> {
  try {
    await budget.limiter.acquire(budget.accountKey);
  } catch (error) {
    if (error instanceof CloudError) throw error;
    throw new TransientCloudError(
      provider,
      'RequestBudgetUnavailable',
      `cloud request budget unavailable: ${error instanceof Error ? error.message : String(error)}`,
      undefined,
      { cause: error },
    );
  }
}
