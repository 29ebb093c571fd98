// Fault injection shared by the cloud simulators. Faults are consumed in the order they were
// armed, so a test can script "the next two calls throttle, then the third succeeds".

export type RequestFaultKind = 'throttle' | 'server-error' | 'unavailable';

/**
 * `before`: the call fails without touching state (the classic transient error).
 * `after`: the call takes effect, then the response is replaced by the error, which is how a
 * lost response looks to a client and what idempotency tokens exist for.
 */
export type FaultPhase = 'before' | 'after';

export interface ArmedRequestFault {
  kind: RequestFaultKind;
  phase: FaultPhase;
}

interface RequestFaultRule extends ArmedRequestFault {
  remaining: number;
  operation?: string;
}

/** `stuck-pending`: the machine never leaves pending. `node-fails`: it runs, but its node never starts (no boot hook). */
export type BootFaultMode = 'stuck-pending' | 'node-fails';

export interface DeathPlan {
  afterMs: number;
  finalState: 'terminated' | 'stopped';
}

export interface LaunchFaults {
  boot?: BootFaultMode;
  death?: DeathPlan;
}

export class FaultInjector {
  private requestRules: RequestFaultRule[] = [];
  private readonly probabilities = new Map<RequestFaultKind, number>();
  private bootRules: Array<{ mode: BootFaultMode; remaining: number }> = [];
  private deathRules: Array<DeathPlan & { remaining: number }> = [];
  private latency = 0;

  constructor(private readonly random: () => number = Math.random) {}

  /** The next `count` matching calls fail with `kind`; `operation` narrows it to one API operation. */
  failNext(kind: RequestFaultKind, count = 1, options: { operation?: string; phase?: FaultPhase } = {}): this {
    this.requestRules.push({ kind, remaining: count, operation: options.operation, phase: options.phase ?? 'before' });
    return this;
  }

  /** Every call fails with `kind` with this probability (0 disables). */
  setProbability(kind: RequestFaultKind, probability: number): this {
    if (probability < 0 || probability > 1) throw new RangeError(`probability ${probability} outside [0, 1]`);
    this.probabilities.set(kind, probability);
    return this;
  }

  setLatency(ms: number): this {
    this.latency = Math.max(0, ms);
    return this;
  }

  get latencyMs(): number {
    return this.latency;
  }

  /** The next `count` launched machines do not boot. */
  neverBootNext(count = 1, mode: BootFaultMode = 'stuck-pending'): this {
    this.bootRules.push({ mode, remaining: count });
    return this;
  }

  /** The next `count` launched machines die on their own `afterMs` after they start running. */
  dieLaterNext(count: number, plan: DeathPlan): this {
    this.deathRules.push({ ...plan, remaining: count });
    return this;
  }

  reset(): void {
    this.requestRules = [];
    this.probabilities.clear();
    this.bootRules = [];
    this.deathRules = [];
    this.latency = 0;
  }

  /** Consumes the fault (if any) the simulator must apply to this call in this phase. */
  takeRequestFault(operation: string, phase: FaultPhase): ArmedRequestFault | undefined {
    const rule = this.requestRules.find(
      (candidate) => candidate.remaining > 0 && candidate.phase === phase && (!candidate.operation || candidate.operation === operation),
    );
    if (rule) {
      rule.remaining -= 1;
      this.requestRules = this.requestRules.filter((candidate) => candidate.remaining > 0);
      return { kind: rule.kind, phase };
    }
    if (phase !== 'before') return undefined;
    for (const [kind, probability] of this.probabilities) {
      if (probability > 0 && this.random() < probability) return { kind, phase };
    }
    return undefined;
  }

  /** Consumes the boot and death faults that apply to one newly launched machine. */
  takeLaunchFaults(): LaunchFaults {
    const faults: LaunchFaults = {};
    const boot = this.bootRules.find((rule) => rule.remaining > 0);
    if (boot) {
      boot.remaining -= 1;
      faults.boot = boot.mode;
    }
    const death = this.deathRules.find((rule) => rule.remaining > 0);
    if (death) {
      death.remaining -= 1;
      faults.death = { afterMs: death.afterMs, finalState: death.finalState };
    }
    this.bootRules = this.bootRules.filter((rule) => rule.remaining > 0);
    this.deathRules = this.deathRules.filter((rule) => rule.remaining > 0);
    return faults;
  }
}

export function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
