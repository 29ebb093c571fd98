import { chmodSync, existsSync, readFileSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, isAbsolute } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { V1KeyToPath } from '@kubernetes/client-node';

export interface ProjectedFile {
  path: string;
  content: Buffer;
  mode: number;
}

export class VolumeSourceMissing extends Error {}

/**
 * Projects keys of a Secret or ConfigMap into files the way kubelet does: with `items` only
 * the listed keys (a missing key is an error unless the source is optional), without
 * `items` every key, each with `mode` or else `defaultMode` (0644 by default).
 */
export function projectKeys(
  source: { kind: string; name: string; optional: boolean },
  data: Map<string, Buffer> | undefined,
  items: V1KeyToPath[] | undefined,
  defaultMode: number | undefined,
): ProjectedFile[] {
  const mode = defaultMode ?? 0o644;
  if (!data) {
    if (source.optional) return [];
    throw new VolumeSourceMissing(`${source.kind.toLowerCase()} "${source.name}" not found`);
  }
  if (!items || items.length === 0) {
    return [...data.entries()].map(([key, content]) => ({ path: key, content, mode }));
  }
  const files: ProjectedFile[] = [];
  for (const item of items) {
    const content = data.get(item.key);
    if (!content) {
      if (source.optional) continue;
      throw new VolumeSourceMissing(`couldn't find key ${item.key} in ${source.kind} ${source.name}`);
    }
    if (isAbsolute(item.path) || normalize(item.path).startsWith('..')) {
      throw new VolumeSourceMissing(`invalid item path ${item.path}`);
    }
    files.push({ path: item.path, content, mode: item.mode ?? mode });
  }
  return files;
}

/**
 * Kubelet's AtomicWriter: the payload lives in a timestamped directory, `..data` is a symlink
 * to it that is swapped with a rename, and each top-level name is a symlink through `..data`.
 * A process that opens `server.crt` therefore sees either the old or the new set, never a mix.
 * Returns true when the visible content changed.
 */
export function writeAtomically(volumeDir: string, files: ProjectedFile[]): boolean {
  mkdirSync(volumeDir, { recursive: true });
  const dataLink = join(volumeDir, '..data');
  const fingerprint = files
    .map((file) => `${file.path}\0${file.mode}\0${file.content.toString('base64')}`)
    .sort()
    .join('\n');
  const fingerprintFile = '..fingerprint';
  if (existsSync(dataLink)) {
    const current = join(volumeDir, readlinkSync(dataLink), fingerprintFile);
    if (existsSync(current)) {
      try {
        if (readFileSync(current, 'utf8') === fingerprint) return false;
      } catch {
        // Unreadable fingerprint: rewrite.
      }
    }
  }
  const stamp = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${randomBytes(4).toString('hex')}`;
  const payloadDir = join(volumeDir, stamp);
  mkdirSync(payloadDir, { recursive: true });
  for (const file of files) {
    const target = join(payloadDir, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.content);
    chmodSync(target, file.mode);
  }
  writeFileSync(join(payloadDir, fingerprintFile), fingerprint);
  const previous = existsSync(dataLink) ? readlinkSync(dataLink) : undefined;
  const temporaryLink = join(volumeDir, '..data_tmp');
  rmSync(temporaryLink, { force: true });
  symlinkSync(stamp, temporaryLink);
  renameSync(temporaryLink, dataLink);
  const topLevel = new Set(files.map((file) => file.path.split('/')[0]));
  for (const name of topLevel) {
    const link = join(volumeDir, name);
    if (!isSymlink(link)) {
      rmSync(link, { recursive: true, force: true });
      symlinkSync(join('..data', name), link);
    }
  }
  for (const entry of readdirSync(volumeDir)) {
    if (entry.startsWith('..')) continue;
    if (!topLevel.has(entry)) rmSync(join(volumeDir, entry), { recursive: true, force: true });
  }
  if (previous && previous !== stamp) rmSync(join(volumeDir, previous), { recursive: true, force: true });
  return true;
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
