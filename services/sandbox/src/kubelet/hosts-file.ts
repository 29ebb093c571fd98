import { openSync, closeSync, readFileSync, writeFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { isErrnoException } from './addresses.js';

export interface HostsEntry {
  ip: string;
  names: string[];
}

const LOCK_STALE_MS = 10_000;

/**
 * Owns one marked block of /etc/hosts per kubelet instance. Several kubelets (parallel tests)
 * share the file, so every rewrite happens under a lock file, re-reads the current content,
 * replaces only this instance's block and renames a temporary file over the original, which
 * keeps readers (Go's resolver in etcd, glibc) from ever seeing a half-written file.
 */
export class HostsFile {
  private lastWritten: string | undefined;

  constructor(
    private readonly path: string,
    private readonly instanceId: string,
  ) {}

  private get beginMarker(): string {
    return `# BEGIN harbormaster-kubelet ${this.instanceId}`;
  }

  private get endMarker(): string {
    return `# END harbormaster-kubelet ${this.instanceId}`;
  }

  async write(entries: HostsEntry[]): Promise<void> {
    const block = renderBlock(this.beginMarker, this.endMarker, entries);
    if (block === this.lastWritten) return;
    await this.withLock(() => {
      const current = readFileSync(this.path, 'utf8');
      const withoutOurs = removeDeadInstances(removeBlock(current, this.beginMarker, this.endMarker));
      const next = block ? `${ensureTrailingNewline(withoutOurs)}${block}` : withoutOurs;
      if (next !== current) atomicWrite(this.path, next);
    });
    this.lastWritten = block;
  }

  async remove(): Promise<void> {
    await this.write([]);
  }

  private async withLock(action: () => void): Promise<void> {
    const lockPath = join(dirname(this.path), `.${basename(this.path)}.harbormaster.lock`);
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        closeSync(openSync(lockPath, 'wx'));
        break;
      } catch (error) {
        if (!isErrnoException(error) || error.code !== 'EEXIST') throw error;
        if (lockIsStale(lockPath)) {
          rmSync(lockPath, { force: true });
          continue;
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockPath}`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 20));
      }
    }
    try {
      action();
    } finally {
      rmSync(lockPath, { force: true });
    }
  }
}

function lockIsStale(lockPath: string): boolean {
  try {
    return Date.now() - statSync(lockPath).mtimeMs > LOCK_STALE_MS;
  } catch {
    return false;
  }
}

function renderBlock(begin: string, end: string, entries: HostsEntry[]): string {
  const lines = entries.filter((entry) => entry.names.length > 0).map((entry) => `${entry.ip}\t${entry.names.join(' ')}`);
  if (lines.length === 0) return '';
  return `${begin}\n${lines.join('\n')}\n${end}\n`;
}

export function removeBlock(content: string, begin: string, end: string): string {
  const lines = content.split('\n');
  const kept: string[] = [];
  let inside = false;
  for (const line of lines) {
    if (line === begin) {
      inside = true;
      continue;
    }
    if (inside) {
      if (line === end) inside = false;
      continue;
    }
    kept.push(line);
  }
  return kept.join('\n');
}

function ensureTrailingNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}

function atomicWrite(path: string, content: string): void {
  const temporary = `${path}.harbormaster-${process.pid}-${Date.now()}`;
  const mode = statSync(path).mode & 0o777;
  writeFileSync(temporary, content, { mode });
  try {
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    // Docker bind-mounts /etc/hosts, which cannot be replaced by rename; rewrite in place.
    if (isErrnoException(error) && (error.code === 'EBUSY' || error.code === 'EXDEV')) {
      writeFileSync(path, content);
      return;
    }
    throw error;
  }
}

/** Drops blocks of kubelets whose process is gone (a killed test run cannot clean up). */
function removeDeadInstances(content: string): string {
  let result = content;
  for (const match of content.matchAll(/^# BEGIN harbormaster-kubelet ((\d+)-[0-9a-f]+)$/gm)) {
    const pid = Number.parseInt(match[2], 10);
    if (processExists(pid)) continue;
    result = removeBlock(result, match[0], `# END harbormaster-kubelet ${match[1]}`);
  }
  return result;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !(isErrnoException(error) && error.code === 'ESRCH');
  }
}
