// Container filesystem emulation. Processes run on the host, so an absolute path a container
// expects under a volume's mountPath (`--cert-file=/etc/etcd/pki/server.crt`) is rewritten to
// the pod's real directory for that volume. Only text inside command, args, env values and
// workingDir is rewritten; paths outside every mountPath are left as they are and therefore
// refer to the host filesystem.
export interface MountTranslation {
  mountPath: string;
  hostPath: string;
}

export type PathTranslator = (text: string) => string;

export function createPathTranslator(mounts: MountTranslation[]): PathTranslator {
  const normalized = mounts
    .map((mount) => ({ mountPath: stripTrailingSlash(mount.mountPath), hostPath: stripTrailingSlash(mount.hostPath) }))
    .filter((mount) => mount.mountPath.startsWith('/') && mount.mountPath.length > 1)
    // Longest prefix first so /etc/etcd/pki wins over /etc/etcd.
    .sort((a, b) => b.mountPath.length - a.mountPath.length);
  if (normalized.length === 0) return (text) => text;
  const byMountPath = new Map(normalized.map((mount) => [mount.mountPath, mount.hostPath]));
  const alternatives = normalized.map((mount) => escapeRegExp(mount.mountPath)).join('|');
  // A mount path only matches as a whole path component sequence: not preceded by a character
  // that would make it part of a longer path or word, and followed by a separator or the end.
  const pattern = new RegExp(`(?<![\\w./~-])(${alternatives})(?=$|[/\\s,;:="'])`, 'g');
  return (text) => text.replace(pattern, (matched: string) => byMountPath.get(matched) ?? matched);
}

function stripTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.replace(/\/+$/, '') : path;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
