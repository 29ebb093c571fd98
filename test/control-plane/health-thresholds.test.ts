// One failed probe must not flap the Reachable condition.
import { describe, expect, it } from 'vitest';
import { FAILURE_THRESHOLD, reachabilityDecision } from '../../services/worker/src/control-plane/health-checker.js';

function replay(results: boolean[], initial: 'True' | 'False' | undefined): Array<'True' | 'False' | undefined> {
  let streak = 0;
  let current = initial;
  return results.map((ok) => {
    const decision = reachabilityDecision(streak, ok, current);
    streak = decision.streak;
    current = decision.flipTo ?? current;
    return current;
  });
}

describe('reachabilityDecision', () => {
  it('goes False only after consecutive failures, and True again after two successes', () => {
    expect(FAILURE_THRESHOLD).toBe(3);
    expect(replay([false, false, true, false, false, true], 'True')).toEqual(['True', 'True', 'True', 'True', 'True', 'True']);
    expect(replay([false, false, false, false, true, true, true], 'True')).toEqual(['True', 'True', 'False', 'False', 'False', 'True', 'True']);
    expect(replay([false, false, false, true, false, true, true], 'True')).toEqual(['True', 'True', 'False', 'False', 'False', 'False', 'True']);
  });

  it('reports the first answer of a new cluster at once', () => {
    expect(replay([true], undefined)).toEqual(['True']);
    expect(reachabilityDecision(0, true, 'True')).toEqual({ streak: 1 });
    expect(reachabilityDecision(2, false, 'True')).toEqual({ streak: -1 });
  });
});
