// One sandbox installation's share of the host: several `npm run up` (or test servers) on one
// machine each simulate clouds whose machines bind loopback addresses, and two installations
// handing out the same addresses let one's SSH probes reach the other's sshd (SshAuthFailed).
// Each installation persists a random id in its data directory, prefers the machine block its
// id hashes to, and holds a listener on that block's marker address while it runs: a block whose
// marker cannot be bound belongs to another live installation, so the next one is tried. The
// listener dies with the process, so a killed installation leaves no stale claim.
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { MACHINE_BLOCKS } from '../clouds/common/support.js';

/** Marker addresses live outside every simulator range: 127.99.<block>.1. */
const MARKER_PORT = 47_999;

export interface SandboxInstallation {
  /** Persisted in the data directory: the same installation prefers the same block after a restart. */
  readonly id: string;
  /** 1 … MACHINE_BLOCKS-1 (block 0 is for simulators started on their own). */
  readonly block: number;
  /** Blocks found taken by other installations before this one was claimed. */
  readonly skipped: readonly number[];
  release(): Promise<void>;
}

export function markerAddress(block: number): string {
  return `127.99.${block}.1`;
}

export async function claimSandboxInstallation(dir: string): Promise<SandboxInstallation> {
  const id = installationId(dir);
  const usable = MACHINE_BLOCKS - 1;
  const preferred = createHash('sha256').update(id).digest().readUInt32BE(0) % usable;
  const skipped: number[] = [];
  for (let offset = 0; offset < usable; offset += 1) {
    const block = 1 + ((preferred + offset) % usable);
    const marker = await tryListen(markerAddress(block), MARKER_PORT);
    if (marker instanceof Error) {
      if ((marker as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        skipped.push(block);
        continue;
      }
      throw new Error(`cannot claim sandbox machine block ${block} at ${markerAddress(block)}:${MARKER_PORT}: ${marker.message}`, { cause: marker });
    }
    return {
      id,
      block,
      skipped,
      release: () => new Promise<void>((resolve) => marker.close(() => resolve())),
    };
  }
  throw new Error(`all ${usable} sandbox machine blocks are held by other installations on this host (markers 127.99.1-${usable}.1:${MARKER_PORT})`);
}

function installationId(dir: string): string {
  const file = join(dir, 'installation-id');
  try {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored) return stored;
  } catch {
    // First start: fall through and create it.
  }
  mkdirSync(dir, { recursive: true });
  const id = randomUUID();
  writeFileSync(file, `${id}\n`);
  return id;
}

function tryListen(host: string, port: number): Promise<Server | Error> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', (error) => resolve(error));
    server.listen({ host, port, exclusive: true }, () => {
      server.unref();
      resolve(server);
    });
  });
}
