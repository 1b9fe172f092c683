// A pod's volumes as a kubelet provides them, for the containers the testbed
// runs as processes: configMap, secret (files of defaultMode, group fsGroup,
// as the kubelet writes them) and projected volumes (a service account
// token from TokenRequest, bound to the pod; ConfigMap keys; the downward
// API's namespace) become files in the pod's directory, hostPath volumes are
// the host's paths. Each container then runs in a mount namespace of its own
// where every volumeMount is a bind mount at its mountPath, so that the
// process finds its files where the pod spec says, as in a container. Mounts
// from the host propagate in (slave), so a node agent sees the pods'
// network namespaces appear under /run/netns.
import { chown, mkdir, writeFile } from 'node:fs/promises';
import { existsSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { V1Container, V1Pod, V1Volume } from '@kubernetes/client-node';
import type { ConfigMapReader } from './container-env.js';

/** Requests a token of the pod's ServiceAccount, bound to the pod. */
export type TokenRequester = (o: { namespace: string; serviceAccount: string; audiences?: string[]; expirationSeconds: number; pod: { name: string; uid: string } }) => Promise<string>;

export interface PodVolumes {
  /** Volume name -> the host directory (or file) that holds it. */
  readonly paths: ReadonlyMap<string, string>;
  /** Rewrites the service account tokens (they expire); the kubelet calls it periodically. */
  refreshTokens(): Promise<void>;
}

/** The default lifetime the ServiceAccount admission puts on projected tokens. */
const DEFAULT_TOKEN_SECONDS = 3607;

export async function podVolumes(pod: V1Pod, dir: string, o: { configMap: ConfigMapReader; secret: ConfigMapReader; token: TokenRequester }): Promise<PodVolumes> {
  const ns = pod.metadata?.namespace ?? 'default';
  const paths = new Map<string, string>();
  const tokens: (() => Promise<void>)[] = [];
  const fsGroup = pod.spec?.securityContext?.fsGroup;
  const files = async (vdir: string, entries: [path: string, content: Buffer | string][], mode = 0o644): Promise<void> => {
    for (const [p, content] of entries) {
      await mkdir(dirname(join(vdir, p)), { recursive: true });
      await writeFile(join(vdir, p), content, { mode });
      if (fsGroup !== undefined) await chown(join(vdir, p), 0, fsGroup);
    }
  };
  const configMapFiles = async (v: string, name: string, items: { key: string; path: string }[] | undefined, optional: boolean | undefined): Promise<[string, Buffer][]> => {
    const data = await o.configMap(ns, name);
    if (!data) {
      if (optional) return [];
      throw new Error(`volume ${v}: ConfigMap ${ns}/${name} not found`);
    }
    return items ? items.map((i) => [i.path, data[i.key] ?? Buffer.alloc(0)]) : Object.entries(data);
  };
  for (const v of (pod.spec?.volumes ?? []) as V1Volume[]) {
    const vdir = join(dir, 'volumes', v.name);
    if (v.hostPath) {
      paths.set(v.name, v.hostPath.path);
    } else if (v.configMap) {
      await mkdir(vdir, { recursive: true });
      await files(vdir, await configMapFiles(v.name, v.configMap.name!, v.configMap.items, v.configMap.optional));
      paths.set(v.name, vdir);
    } else if (v.secret) {
      const data = await o.secret(ns, v.secret.secretName!);
      if (!data && !v.secret.optional) throw new Error(`volume ${v.name}: Secret ${ns}/${v.secret.secretName} not found`);
      await mkdir(vdir, { recursive: true });
      const entries: [string, Buffer][] = v.secret.items ? v.secret.items.map((i) => [i.path, data?.[i.key] ?? Buffer.alloc(0)]) : Object.entries(data ?? {});
      await files(vdir, entries, v.secret.defaultMode ?? 0o644);
      paths.set(v.name, vdir);
    } else if (v.projected) {
      await mkdir(vdir, { recursive: true });
      for (const s of v.projected.sources ?? []) {
        if (s.serviceAccountToken) {
          const t = s.serviceAccountToken;
          const write = async (): Promise<void> => {
            const token = await o.token({
              namespace: ns,
              serviceAccount: pod.spec?.serviceAccountName ?? 'default',
              audiences: t.audience ? [t.audience] : undefined,
              expirationSeconds: t.expirationSeconds ?? DEFAULT_TOKEN_SECONDS,
              pod: { name: pod.metadata!.name!, uid: pod.metadata!.uid! },
            });
            await files(vdir, [[t.path, token]]);
          };
          await write();
          tokens.push(write);
        } else if (s.configMap) {
          await files(vdir, await configMapFiles(v.name, s.configMap.name!, s.configMap.items, s.configMap.optional));
        } else if (s.downwardAPI) {
          await files(
            vdir,
            (s.downwardAPI.items ?? []).map((i) => {
              if (i.fieldRef?.fieldPath !== 'metadata.namespace') throw new Error(`volume ${v.name}: downwardAPI ${i.fieldRef?.fieldPath ?? i.path} is not supported by the testbed kubelet`);
              return [i.path, ns];
            }),
          );
        } else throw new Error(`volume ${v.name}: a projected source other than serviceAccountToken, configMap or downwardAPI`);
      }
      paths.set(v.name, vdir);
    } else if (v.emptyDir) {
      await mkdir(vdir, { recursive: true });
      paths.set(v.name, vdir);
    } else {
      throw new Error(`volume ${v.name}: only hostPath, configMap, secret, projected and emptyDir volumes are supported by the testbed kubelet`);
    }
  }
  return {
    paths,
    async refreshTokens() {
      for (const t of tokens) await t();
    },
  };
}

/** The bind mounts of a container: its volumeMounts that are not already where the host has them. */
export function containerMounts(c: V1Container, volumes: PodVolumes): { source: string; target: string; readOnly: boolean }[] {
  return (c.volumeMounts ?? [])
    .map((m) => {
      const source = volumes.paths.get(m.name);
      if (!source) throw new Error(`container ${c.name}: volumeMount ${m.name}: no such volume`);
      return { source: m.subPath ? join(source, m.subPath) : source, target: m.mountPath, readOnly: m.readOnly ?? false };
    })
    .filter((m) => m.source !== m.target);
}

/**
 * argv that runs `argv` in a new mount namespace with the bind mounts in
 * place, then as `user` (uid:gid) when given: the mounts need root, the
 * process may not.
 */
export function inContainerMounts(mounts: readonly { source: string; target: string; readOnly: boolean }[], argv: readonly string[], user?: { uid: number; gid: number }): string[] {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const steps = mounts.flatMap((m) => [`mount --bind ${q(m.source)} ${q(m.target)}`, ...(m.readOnly ? [`mount -o remount,bind,ro ${q(m.target)}`] : [])]);
  const run = user ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--'] : [];
  return ['unshare', '--mount', '--propagation', 'slave', '--', 'sh', '-ec', [...steps, 'exec "$@"'].join('\n'), 'container', ...run, ...argv];
}

/**
 * Mount points exist only in a filesystem, which the container shares with
 * the host: the ones missing on the host are made, reported (the testbed
 * records them in its state, so that `down` removes them even after a
 * crash), and removed again, when empty, by remove().
 */
export class MountPoints {
  private readonly made: string[] = [];

  constructor(private readonly onMade: (dir: string) => void = () => undefined) {}

  async ensure(targets: readonly string[]): Promise<void> {
    for (const t of targets) {
      if (existsSync(t)) continue;
      let top = t;
      while (!existsSync(dirname(top))) top = dirname(top);
      await mkdir(t, { recursive: true });
      for (let d = t; ; d = dirname(d)) {
        this.made.push(d);
        this.onMade(d);
        if (d === top) break;
      }
    }
  }

  remove(): void {
    removeMountPoints(this.made);
    this.made.length = 0;
  }
}

/** Removes the directories made as mount points, deepest first, those that are empty. */
export function removeMountPoints(dirs: readonly string[]): void {
  for (const d of [...new Set(dirs)].sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(d);
    } catch {
      // In use, not empty, or gone: leave it.
    }
  }
}
