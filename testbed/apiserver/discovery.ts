// Discovery documents (/version, /api, /api/v1, /apis, /apis/<g>, /apis/<g>/<v>)
// in the shapes @kubernetes/client-node and kubectl read to map kinds to paths.
import { RESOURCE_TYPES, apiResources, typesIn } from './resources.js';

/** The Kubernetes version the testbed claims to be. */
export const VERSION_INFO = {
  major: '1',
  minor: '31',
  gitVersion: 'v1.31.0-talaria-testbed',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.22.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

function groups(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const t of RESOURCE_TYPES) {
    if (!t.group) continue;
    const vs = out.get(t.group) ?? [];
    if (!vs.includes(t.version)) vs.push(t.version);
    out.set(t.group, vs);
  }
  return out;
}

function apiGroup(name: string, versions: string[]): object {
  const vs = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

/** "api/v1" or "apis/<group>/<version>" for every group/version served. */
function groupVersionPaths(): Array<{ path: string; group: string; version: string }> {
  const seen = new Map<string, { path: string; group: string; version: string }>();
  for (const t of RESOURCE_TYPES) {
    const path = t.group ? `apis/${t.group}/${t.version}` : `api/${t.version}`;
    seen.set(path, { path, group: t.group, version: t.version });
  }
  return [...seen.values()];
}

/**
 * OpenAPI v3 documents just rich enough for kubectl: the PATCH operation of
 * every kind lists the `fieldValidation` query parameter, so kubectl leaves
 * validation to the server (which validates the fields it knows) instead of
 * refusing to apply for want of schemas.
 */
function openApiV3(segments: readonly string[]): object | undefined {
  const gvs = groupVersionPaths();
  if (segments.length === 2) {
    return { paths: Object.fromEntries(gvs.map((g) => [g.path, { serverRelativeURL: `/openapi/v3/${g.path}?hash=talaria-${VERSION_INFO.gitVersion}` }])) };
  }
  const gv = gvs.find((g) => g.path === segments.slice(2).join('/'));
  if (!gv) return undefined;
  const paths: Record<string, object> = {};
  for (const t of typesIn(gv.group, gv.version)) {
    const base = `/${gv.path}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.resource}/{name}`;
    paths[base] = {
      patch: {
        operationId: `patch${t.kind}`,
        'x-kubernetes-group-version-kind': { group: t.group, version: t.version, kind: t.kind },
        'x-kubernetes-action': 'patch',
        parameters: ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map((name) => ({ name, in: 'query', schema: { type: name === 'force' ? 'boolean' : 'string' } })),
        responses: { '200': { description: 'OK' } },
      },
    };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: VERSION_INFO.gitVersion }, paths, components: { schemas: {} } };
}

/** The document for a discovery path (segments after the leading slash), or undefined. */
export function discoveryDocument(segments: readonly string[], serverAddress: string): object | undefined {
  const [a, b, c] = segments;
  if (a === 'version' && segments.length === 1) return VERSION_INFO;
  if (a === 'openapi' && b === 'v3') return openApiV3(segments);
  if (a === 'api') {
    if (segments.length === 1) {
      return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
    }
    if (segments.length === 2 && b === 'v1') return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'v1', resources: apiResources('', 'v1') };
    return undefined;
  }
  if (a === 'apis') {
    const gs = groups();
    if (segments.length === 1) {
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: [...gs].map(([name, vs]) => apiGroup(name, vs)) };
    }
    const vs = gs.get(b!);
    if (!vs) return undefined;
    if (segments.length === 2) return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(b!, vs) };
    if (segments.length === 3 && vs.includes(c!)) {
      return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${b}/${c}`, resources: apiResources(b!, c!) };
    }
  }
  return undefined;
}
