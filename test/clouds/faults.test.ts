import { describe, expect, it } from 'vitest';
import { FaultInjector } from '../../services/sandbox/src/clouds/common/faults.js';

describe('FaultInjector', () => {
  it('consumes "next N" faults in order, per operation and phase', () => {
    const faults = new FaultInjector(() => 0.99);
    faults.failNext('throttle', 2, { operation: 'RunInstances' }).failNext('server-error', 1, { phase: 'after' });
    expect(faults.takeRequestFault('DescribeInstances', 'before')).toBeUndefined();
    expect(faults.takeRequestFault('RunInstances', 'before')).toEqual({ kind: 'throttle', phase: 'before' });
    expect(faults.takeRequestFault('RunInstances', 'after')).toEqual({ kind: 'server-error', phase: 'after' });
    expect(faults.takeRequestFault('RunInstances', 'before')).toEqual({ kind: 'throttle', phase: 'before' });
    expect(faults.takeRequestFault('RunInstances', 'before')).toBeUndefined();
    expect(faults.takeRequestFault('RunInstances', 'after')).toBeUndefined();
  });

  it('fails by probability using its random source', () => {
    let next = 0.2;
    const faults = new FaultInjector(() => next);
    faults.setProbability('unavailable', 0.3);
    expect(faults.takeRequestFault('x', 'before')).toEqual({ kind: 'unavailable', phase: 'before' });
    next = 0.5;
    expect(faults.takeRequestFault('x', 'before')).toBeUndefined();
    expect(() => faults.setProbability('throttle', 1.5)).toThrow(RangeError);
  });

  it('hands boot and death faults to the next launches only', () => {
    const faults = new FaultInjector();
    faults.neverBootNext(1, 'node-fails').dieLaterNext(2, { afterMs: 10, finalState: 'stopped' });
    expect(faults.takeLaunchFaults()).toEqual({ boot: 'node-fails', death: { afterMs: 10, finalState: 'stopped' } });
    expect(faults.takeLaunchFaults()).toEqual({ death: { afterMs: 10, finalState: 'stopped' } });
    expect(faults.takeLaunchFaults()).toEqual({});
    faults.setLatency(25);
    expect(faults.latencyMs).toBe(25);
    faults.reset();
    expect(faults.latencyMs).toBe(0);
  });
});
