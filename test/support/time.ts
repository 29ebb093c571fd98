// One factor for every deadline in the suite. A test waits on a condition or an event; the
// deadline only says when to give up, so a busy machine (the suite alone drives a 2-core box to
// a load of ~15) needs a longer one, never a different assertion. Deadlines are written as the
// time the wait takes on a quiet machine and scaled here, in one place.
//
// HM_TEST_TIME_SCALE (default 3) multiplies every deadline: test and hook timeouts, `eventually`,
// and the product timeouts that tests set on purpose (SSH probe, server start). A passing test
// takes no longer with a larger factor; only a failing one gives up later.

function parseScale(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 3;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 1) throw new Error(`HM_TEST_TIME_SCALE must be a number >= 1, got ${raw}`);
  return value;
}

export const TIME_SCALE = parseScale(process.env.HM_TEST_TIME_SCALE);

/** A deadline written for a quiet machine, stretched by the suite's one factor. */
export function scaled(ms: number): number {
  return Math.round(ms * TIME_SCALE);
}

/** The same, in whole seconds, for product settings given in seconds. */
export function scaledSeconds(seconds: number): number {
  return Math.ceil(seconds * TIME_SCALE);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` until it returns something other than undefined, null or false, and returns
 * that. A probe that throws counts as "not yet"; its last error is in the timeout message.
 * `timeoutMs` is the quiet-machine budget and is scaled.
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  what: string,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<NonNullable<Exclude<T, false>>> {
  const budget = scaled(timeoutMs);
  const deadline = Date.now() + budget;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value as NonNullable<Exclude<T, false>>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a non-Error throw of unknown shape; String() is the intended best-effort rendering
      const cause = lastError instanceof Error ? `: ${lastError.message}` : lastError !== undefined ? `: ${String(lastError)}` : '';
      throw new Error(`timed out after ${budget} ms waiting for ${what}${cause}`);
    }
    await sleep(intervalMs);
  }
}
