// Runs synchronous code inside another network namespace. setns() on the
// calling thread: Talaria processes stay in the root namespace (they listen on
// 127.0.0.1) and step into a node's or pod's namespace only for the netlink
// and ioctl calls of an attach. Only synchronous work is safe inside: libuv's
// thread pool and anything after an await run in the original namespace.
import { closeSync, openSync } from 'node:fs';
import { BpfError } from './errors.js';
import { lastErrno, libc } from './libbpf.js';

const CLONE_NEWNET = 0x40000000;

/** "/run/netns/NAME" for a name, the argument itself for a path. */
export function netnsPath(nsName: string): string {
  return nsName.includes('/') ? nsName : `/run/netns/${nsName}`;
}

/**
 * Calls fn inside the network namespace `nsName` (an `ip netns` name or a
 * path such as /proc/PID/ns/net) and returns its result; the original
 * namespace is restored afterwards, also when fn throws. `undefined` runs fn
 * where we are, so that an optional --netns flag can be passed straight in.
 */
export function withNetns<T>(nsName: string | undefined, fn: () => T): T {
  if (nsName === undefined || nsName === '') return fn();
  const path = netnsPath(nsName);
  const lc = libc();
  let target: number;
  try {
    target = openSync(path, 'r');
  } catch (e) {
    throw new BpfError({ call: 'open', object: `netns ${path}`, errno: (e as NodeJS.ErrnoException).errno ?? 0 });
  }
  let original: number;
  try {
    original = openSync('/proc/thread-self/ns/net', 'r');
  } catch {
    original = openSync('/proc/self/ns/net', 'r');
  }
  try {
    if (lc.setns(target, CLONE_NEWNET) !== 0) throw new BpfError({ call: 'setns', object: `netns ${path}`, errno: lastErrno() });
    const restore = (): void => {
      // Carrying on in the wrong namespace would misdirect every later call.
      if (lc.setns(original, CLONE_NEWNET) !== 0) throw new BpfError({ call: 'setns', object: 'original netns', errno: lastErrno() });
    };
    let result: T;
    try {
      result = fn();
    } catch (e) {
      restore();
      throw e;
    }
    restore();
    if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
      throw new TypeError('withNetns: fn must be synchronous (its promise would continue outside the namespace)');
    }
    return result;
  } finally {
    closeSync(target);
    closeSync(original);
  }
}

/** The interface index of `ifname` in the current namespace (0 if absent). */
export function ifIndex(ifname: string): number {
  return libc().if_nametoindex(ifname);
}

/** Every interface of the current namespace (run it inside withNetns for another). */
export function interfaces(): { index: number; name: string }[] {
  return libc().interfaces();
}
