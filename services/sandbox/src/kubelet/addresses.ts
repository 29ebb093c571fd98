import { appendFileSync, mkdirSync, openSync, closeSync, writeSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

// Every kubelet on this machine claims one slot; the slot selects disjoint loopback ranges so
// kubelets running in parallel (parallel test files) never hand out the same address.
//   pods:          127.(64+slot).0.0/16   (inside 127.64.0.0/10)
//   LoadBalancers: 127.32.slot.0/24
//   Services:      127.33.slot.0/24       (per-Service proxy addresses)
const SLOT_COUNT = 64;
const DEFAULT_SLOT_DIR = '/tmp/harbormaster-kubelet-slots';

export interface SlotClaim {
  slot: number;
  /** Remembers a container's process group, so a later claimant can reap it after a crash. */
  recordProcessGroup(pid: number): void;
  release(): void;
}

export function claimSlot(slotDir: string = DEFAULT_SLOT_DIR): SlotClaim {
  mkdirSync(slotDir, { recursive: true });
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const file = join(slotDir, `slot-${slot}`);
    const processFile = `${file}.processes`;
    if (!tryCreateExclusive(file)) {
      if (!isStale(file)) continue;
      rmSync(file, { force: true });
      if (!tryCreateExclusive(file)) continue;
    }
    // The previous owner died without stopping its containers (killed test run): reap them.
    reapRecordedProcessGroups(processFile);
    let released = false;
    return {
      slot,
      recordProcessGroup: (pid) => {
        const started = processStartTime(pid);
        if (started !== undefined) appendFileSync(processFile, `${pid} ${started}\n`);
      },
      release: () => {
        if (released) return;
        released = true;
        rmSync(processFile, { force: true });
        rmSync(file, { force: true });
      },
    };
  }
  throw new Error(`all ${SLOT_COUNT} kubelet address slots in ${slotDir} are taken`);
}

/** Field 22 of /proc/<pid>/stat: tells a recorded process from a later one reusing its pid. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function reapRecordedProcessGroups(processFile: string): void {
  let content: string;
  try {
    content = readFileSync(processFile, 'utf8');
  } catch {
    return;
  }
  for (const line of content.split('\n')) {
    const [pidText, started] = line.split(' ');
    const pid = Number.parseInt(pidText, 10);
    if (!Number.isInteger(pid) || pid <= 1 || processStartTime(pid) !== started) continue;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  rmSync(processFile, { force: true });
}

function tryCreateExclusive(file: string): boolean {
  try {
    const fd = openSync(file, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (error) {
    if (isErrnoException(error) && error.code === 'EEXIST') return false;
    throw error;
  }
}

function isStale(file: string): boolean {
  let owner: number;
  try {
    owner = Number.parseInt(readFileSync(file, 'utf8'), 10);
  } catch {
    return false;
  }
  if (!Number.isInteger(owner) || owner <= 0) return true;
  try {
    process.kill(owner, 0);
    return false;
  } catch (error) {
    return isErrnoException(error) && error.code === 'ESRCH';
  }
}

export function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && 'code' in error;
}

/** Hands out addresses from a range, keyed so the same key gets the same address back. */
export class AddressPool {
  private readonly byKey = new Map<string, string>();
  private readonly taken = new Set<number>();
  private cursor: number;

  constructor(
    private readonly first: number,
    private readonly last: number,
  ) {
    this.cursor = first;
  }

  static forPods(slot: number): AddressPool {
    const base = ipToNumber(`127.${64 + slot}.0.0`);
    return new AddressPool(base + 2, base + 0xfffe);
  }

  static forLoadBalancers(slot: number): AddressPool {
    const base = ipToNumber(`127.32.${slot}.0`);
    return new AddressPool(base + 1, base + 254);
  }

  static forServices(slot: number): AddressPool {
    const base = ipToNumber(`127.33.${slot}.0`);
    return new AddressPool(base + 1, base + 254);
  }

  allocate(key: string): string {
    const existing = this.byKey.get(key);
    if (existing) return existing;
    const size = this.last - this.first + 1;
    for (let attempt = 0; attempt < size; attempt++) {
      const candidate = this.cursor;
      this.cursor = this.cursor >= this.last ? this.first : this.cursor + 1;
      // Skip .0 and .255 so no address looks like a network or broadcast address.
      const lastOctet = candidate & 0xff;
      if (lastOctet === 0 || lastOctet === 255 || this.taken.has(candidate)) continue;
      this.taken.add(candidate);
      const ip = numberToIp(candidate);
      this.byKey.set(key, ip);
      return ip;
    }
    throw new Error('address pool exhausted');
  }

  lookup(key: string): string | undefined {
    return this.byKey.get(key);
  }

  release(key: string): void {
    const ip = this.byKey.get(key);
    if (!ip) return;
    this.byKey.delete(key);
    this.taken.delete(ipToNumber(ip));
  }
}

export function ipToNumber(ip: string): number {
  return ip.split('.').reduce((total, octet) => total * 256 + Number.parseInt(octet, 10), 0);
}

export function numberToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => (Math.floor(value / 2 ** shift) & 0xff).toString()).join('.');
}
