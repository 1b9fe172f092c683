// Leaving a node as it was before Talaria. The agent keeps its programs
// attached and its maps pinned when it stops, so that a restart or an
// upgrade breaks no connection; only an uninstall should take them away.
// An agent told to stop (SIGTERM) tells the two apart by its DaemonSet: gone
// or being deleted means `helm uninstall` (or kubectl delete), anything else
// a restart. `helm uninstall` deletes the DaemonSet, the RBAC and the
// ServiceAccount in one go, so by the time the agent asks, its token may be
// refused (401) or its permissions gone (403): that is an uninstall too.
// `talaria nodeagent --cleanup` does the same by hand.
import { readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { removeEmptyParents, rmdirQuiet, unpin } from '../bpf/loader/pin.js';
import { interfaces, withNetns } from '../bpf/loader/netns.js';
import { detachTc, queryTc } from '../bpf/loader/tc.js';
import { BpfError, ENODEV } from '../bpf/loader/errors.js';
import { TC_HANDLE, TC_PRIORITY } from './datapath.js';

const status = (e: unknown): number | undefined => (e as { code?: number }).code;
const notFound = (e: unknown): boolean => status(e) === 404;
/** The API server no longer knows this agent's ServiceAccount (401) or its RBAC (403): the release is gone. */
const credentialsRevoked = (e: unknown): boolean => status(e) === 401 || status(e) === 403;

/**
 * Whether this agent's pod is going away because its release is: true when
 * its DaemonSet is gone (background deletion, helm's default) or carries a
 * deletionTimestamp (foreground), or when the API server refuses the agent's
 * own credentials (its ServiceAccount or RBAC deleted with the release).
 * False when the DaemonSet still stands (a restart, a rolling update, a node
 * drain), when the pod has no DaemonSet, or when the API server cannot be
 * asked: keeping the programs is the safe mistake.
 */
export async function beingUninstalled(kc: KubeConfig, pod: { namespace: string; name: string }, log: (line: string) => void): Promise<boolean> {
  try {
    const self = await kc.makeApiClient(CoreV1Api).readNamespacedPod(pod);
    const owner = self.metadata?.ownerReferences?.find((o) => o.controller && o.kind === 'DaemonSet');
    if (!owner) return false;
    try {
      const ds = await kc.makeApiClient(AppsV1Api).readNamespacedDaemonSet({ namespace: pod.namespace, name: owner.name });
      return ds.metadata?.deletionTimestamp !== undefined;
    } catch (e) {
      if (notFound(e)) return true;
      throw e;
    }
  } catch (e) {
    if (credentialsRevoked(e)) {
      log(`the API server refuses this agent's ServiceAccount (HTTP ${status(e)}): Talaria is being uninstalled`);
      return true;
    }
    log(`cannot tell whether Talaria is being uninstalled (keeping programs and pins): ${(e as Error).message.split('\n')[0]}`);
    return false;
  }
}

/**
 * Detaches the agent's filter from every interface of the node namespace
 * (the uplink and every pod veth: whatever carries the agent's handle), and
 * removes the agent's pins, and only those: the files in pinDir, not the
 * directories below it (the software switch pins under
 * /sys/fs/bpf/talaria/switch by default).
 */
export function removeFromNode(opts: { netns?: string; pinDir: string }): { detached: string[]; unpinned: string[] } {
  const detached: string[] = [];
  const names = withNetns(opts.netns, () => interfaces().map((i) => i.name));
  for (const ifname of names) {
    const target = { ifname, direction: 'ingress' as const, netns: opts.netns, handle: TC_HANDLE, priority: TC_PRIORITY };
    try {
      if (queryTc(target) !== undefined && detachTc(target)) detached.push(ifname);
    } catch (e) {
      // A pod's veth may go while we look; anything else is worth stopping for.
      if (!(e instanceof BpfError && e.errno === ENODEV)) throw e;
    }
  }
  const dir = resolve(opts.pinDir);
  const unpinned: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  for (const name of entries) {
    const path = `${dir}/${name}`;
    if (!statSync(path).isDirectory() && unpin(path)) unpinned.push(name);
  }
  // Empty directories go too, up to /sys/fs/bpf/talaria.
  if (rmdirQuiet(dir)) removeEmptyParents(dir);
  return { detached, unpinned };
}
