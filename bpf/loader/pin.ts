// Pins live on bpffs under /sys/fs/bpf/talaria/<component>/ so that maps (and
// the connections in them) survive an agent restart. bpffs is mounted here
// when the machine has none, as systemd would on a normal host.
import { mkdirSync, readdirSync, rmdirSync, statfsSync, statSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { BpfError } from './errors.js';
import { lastErrno, lib, libc } from './libbpf.js';

export const BPFFS_ROOT = '/sys/fs/bpf';
/** The default of every component's --pin-dir. */
export const DEFAULT_PIN_DIR = '/sys/fs/bpf/talaria';
const BPF_FS_MAGIC = 0xcafe4a11;

function isBpffs(path: string): boolean {
  try {
    return statfsSync(path).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

/** Mounts bpffs at /sys/fs/bpf unless it is there already. */
export function ensureBpffs(): void {
  if (isBpffs(BPFFS_ROOT)) return;
  mkdirSync(BPFFS_ROOT, { recursive: true });
  if (libc().mount('bpf', BPFFS_ROOT, 'bpf', 0, null) !== 0) {
    const errno = lastErrno();
    // Another process may have mounted it in the meantime.
    if (!isBpffs(BPFFS_ROOT)) throw new BpfError({ call: 'mount', object: BPFFS_ROOT, errno });
  }
}

/** Creates a pin directory (and mounts bpffs first when the directory is under /sys/fs/bpf). */
export function ensurePinDir(dir: string): string {
  const abs = resolve(dir);
  if (abs === BPFFS_ROOT || abs.startsWith(`${BPFFS_ROOT}/`)) ensureBpffs();
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(abs, { recursive: true });
      break;
    } catch (e) {
      // A concurrent removePinDir() may delete an empty parent under us: retry once.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 0) throw e;
    }
  }
  if (!isBpffs(abs)) throw new BpfError({ call: 'ensurePinDir', object: abs, errno: 0, detail: 'not on a bpf filesystem' });
  return abs;
}

/** Pins a map or program fd at a path (creating its directory). */
export function pinFd(fd: number, path: string, object: string): void {
  ensurePinDir(dirname(path));
  const ret = lib().bpf_obj_pin(fd, path);
  if (ret < 0) throw new BpfError({ call: 'bpf_obj_pin', object: `${object} at ${path}`, errno: -ret });
}

/** Opens a pinned map or program; the caller owns the returned fd. */
export function openPinnedFd(path: string): number {
  const fd = lib().bpf_obj_get(path);
  if (fd < 0) throw new BpfError({ call: 'bpf_obj_get', object: path, errno: -fd });
  return fd;
}

/** Removes one pin; returns false when there was none. */
export function unpin(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new BpfError({ call: 'unlink', object: path, errno: (e as NodeJS.ErrnoException).errno ?? 0 });
  }
}

/**
 * Removes a pin directory with everything pinned in it, then the empty
 * directories above it up to and including /sys/fs/bpf/talaria.
 */
export function removePinDir(dir: string): void {
  const abs = resolve(dir);
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const name of names) {
      const p = `${d}/${name}`;
      if (statSync(p).isDirectory()) walk(p);
      else unpin(p);
    }
    rmdirQuiet(d);
  };
  walk(abs);
  removeEmptyParents(abs);
}

/** Removes the empty directories above dir, up to and including /sys/fs/bpf/talaria. */
export function removeEmptyParents(dir: string): void {
  for (let p = dirname(resolve(dir)); p === DEFAULT_PIN_DIR || p.startsWith(`${DEFAULT_PIN_DIR}/`); p = dirname(p)) {
    if (!rmdirQuiet(p)) break;
  }
}

/** Removes an empty directory; false when it is not there, or not empty. */
export function rmdirQuiet(d: string): boolean {
  try {
    rmdirSync(d);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw e;
  }
}
