import { existsSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What a simulator saw of one request; tests use it to prove which credentials went where. */
export interface RecordedRequest {
  at: Date;
  method: string;
  path: string;
  host: string;
  /** The access key id (EC2) or bearer token (DigitalOcean) the request carried, if any. */
  credential?: string;
  operation?: string;
  status: number;
}

/** Timers owned by a simulator, all cancelled by close() so no test leaks a pending callback. */
export class TimerSet {
  private readonly timers = new Set<NodeJS.Timeout>();

  after(ms: number, callback: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      callback();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  clear(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}

/**
 * Installations of the sandbox on one host share the simulators' loopback ranges, so each takes a
 * block of them (embedded/installation.ts): block b owns third octets 16b … 16b+15 of every /16,
 * i.e. 127.100.16b.0/20 for EC2's private addresses, and the machine ids derived from b. Block 0
 * is left to simulators started on their own (tests, benchmarks), which allocate from the start.
 */
export const MACHINE_BLOCKS = 16;
const HOSTS_PER_BLOCK = 16 * 256;

/** Hands out consecutive addresses inside a /16 (skipping .0 and .255 host parts), or inside one block of it. */
export class AddressPool {
  private next: number;
  private readonly end: number;

  constructor(
    private readonly prefix: string,
    block?: number,
  ) {
    if (block !== undefined && (!Number.isInteger(block) || block < 0 || block >= MACHINE_BLOCKS))
      throw new RangeError(`machine block ${block} outside 0…${MACHINE_BLOCKS - 1}`);
    this.next = (block ?? 0) * HOSTS_PER_BLOCK + 10;
    this.end = block === undefined ? 256 * 256 : (block + 1) * HOSTS_PER_BLOCK;
  }

  allocate(): string {
    for (;;) {
      const value = this.next++;
      if (value >= this.end) throw new Error(`address pool ${this.prefix}.0.0/16 exhausted`);
      const high = Math.floor(value / 256);
      const low = value % 256;
      if (low === 0 || low === 255) continue;
      return `${this.prefix}.${high}.${low}`;
    }
  }
}

export function readBody(request: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        reject(new Error('request body too large'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/**
 * Finds a vendored API specification: an explicit path, then HARBORMASTER_SPECS_DIR, then
 * `specs/` or `../shared/specs/` beside the repository root (this file runs from services/ or dist/).
 */
export function locateSpec(relativePath: string, explicitPath?: string): string {
  if (explicitPath) return explicitPath;
  const candidates: string[] = [];
  const fromEnv = process.env.HARBORMASTER_SPECS_DIR;
  if (fromEnv) candidates.push(join(fromEnv, relativePath));
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 8; depth++) {
    if (existsSync(join(directory, 'package.json'))) {
      candidates.push(join(directory, 'specs', relativePath), join(directory, '..', 'shared', 'specs', relativePath));
      break;
    }
    directory = dirname(directory);
  }
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`API specification ${relativePath} not found (looked in ${candidates.join(', ')})`);
  return found;
}

export function randomHex(length: number): string {
  let out = '';
  while (out.length < length)
    out += Math.floor(Math.random() * 0x100000000)
      .toString(16)
      .padStart(8, '0');
  return out.slice(0, length);
}

/** Stops a simulator's HTTP server at once, open keep-alive connections included. */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
