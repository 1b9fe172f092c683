// P4Runtime over mutual TLS against a real loopback gRPC port: who gets in,
// and who may write. A client without the CA's certificate never reaches the
// server; a read-only client reads but cannot write, in any role it asks
// for; a refused write leaves the switch as it was.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Harness } from './testing/harness.js';
import { createPki } from './testing/pki.js';
import { Code, P4RuntimeError, buildTableEntry, tableWildcard, talariaP4Info, type Update } from './client/index.js';
import { openReadOnly } from './client/read-only.js';
import { clientTransport, serverTransport } from './transport-flags.js';
import type { P4RuntimeTransport } from './transport.js';

const p4 = talariaP4Info();
const frontend = (addr: string, id: number): Update => ({
  type: 'INSERT',
  entity: buildTableEntry(p4, 'frontends', { dst_addr: addr, dst_port: 80, protocol: 6 }, { name: 'set_frontend', params: { frontend_id: id, flags: 0 } }),
});

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (e) {
    assert.ok(e instanceof P4RuntimeError, String(e));
    return e.codeName;
  }
}

describe('P4Runtime over mutual TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'talaria-pki-'));
  const pki = createPki(dir);
  const other = createPki(mkdtempSync(join(dir, 'other-')), 'someone-else');
  const server = pki.issue('talaria-switch', { server: { ips: ['127.0.0.1'], dns: ['talaria-switch'] } });
  const controller = pki.issue('talaria-controller');
  const reader = pki.issue('talaria-reader');
  const stranger = other.issue('talaria-controller');
  const mtls = (c: { certFile: string; keyFile: string }, caFile = pki.caFile): Extract<P4RuntimeTransport, { kind: 'mtls' }> => ({ kind: 'mtls', caFile, ...c });
  const h = new Harness(undefined, { transport: mtls(server), access: { writers: ['talaria-controller'] } });
  before(() => h.start());
  after(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the writer identity arbitrates, sets the pipeline and writes', async () => {
    const c = h.client({ transport: mtls(controller), electionId: 10n });
    assert.equal((await c.arbitrate()).primary, true);
    await c.setPipeline(p4);
    await c.write([frontend('10.96.0.1', 1)]);
    assert.equal((await c.readAll([tableWildcard(p4, 'frontends')])).length, 1);
  });

  test('a read-only client reads, and cannot write in any role', async () => {
    const r = await openReadOnly({ address: `127.0.0.1:${h.port}`, deviceId: 7n, transport: mtls(reader), deadlineMs: 5000 });
    h.clients.push(r);
    assert.equal(r.arbitration?.primary, true, 'primary of the read-only role');
    assert.equal((await r.readAll([tableWildcard(p4, 'frontends')])).length, 1);
    assert.equal(await code(r.write([frontend('10.96.0.2', 2)])), 'PERMISSION_DENIED');
    assert.equal(await code(r.setPipeline(p4)), 'PERMISSION_DENIED');
    // Asking for the default role with a reader's certificate is refused at arbitration.
    const sneaky = h.client({ transport: mtls(reader), electionId: 99n });
    const refusal = await sneaky.arbitrate().then(() => undefined, (e: P4RuntimeError) => e);
    assert.equal(refusal?.code, Code.PERMISSION_DENIED);
    assert.match(refusal?.message ?? '', /client 'talaria-reader' may not take the default role: only talaria-controller may write/);
    assert.equal(await code(sneaky.write([frontend('10.96.0.3', 3)])), 'PERMISSION_DENIED');
    // Nothing changed.
    const entries = await r.readAll([tableWildcard(p4, 'frontends')]);
    assert.equal(entries.length, 1);
  });

  test('an unknown role is refused by name', async () => {
    const c = h.client({ transport: mtls(controller), electionId: 11n, role: 'sdn_controller' });
    const refusal = await c.arbitrate().then(() => undefined, (e: P4RuntimeError) => e);
    assert.equal(refusal?.code, Code.PERMISSION_DENIED);
    assert.match(refusal?.message ?? '', /role 'sdn_controller' is not configured/);
  });

  test('a plaintext client, or one with another CA\'s certificate, never gets in', async () => {
    for (const transport of [{ kind: 'plaintext' } as const, mtls(stranger, pki.caFile)]) {
      const c = h.client({ transport, deadlineMs: 1500 });
      assert.equal(await code(c.capabilities()), 'UNAVAILABLE', transport.kind);
    }
    // A client that does not trust the switch's CA does not talk to it either.
    const c = h.client({ transport: mtls(controller, other.caFile), deadlineMs: 1500 });
    assert.equal(await code(c.capabilities()), 'UNAVAILABLE');
  });

  test('the server name can differ from the host dialled (relays, unix sockets)', async () => {
    const c = h.client({ transport: { ...mtls(controller), serverName: 'talaria-switch' } });
    assert.equal(await c.capabilities(), '1.4.0');
    const wrong = h.client({ transport: { ...mtls(controller), serverName: 'not-the-switch' }, deadlineMs: 1500 });
    assert.equal(await code(wrong.capabilities()), 'UNAVAILABLE');
  });
});

describe('transport flags', () => {
  test('plaintext only when asked for by name; TLS needs all three files', () => {
    assert.throws(() => clientTransport({}), /P4Runtime needs mutual TLS \(--switch-ca-file, --switch-cert-file, --switch-key-file\) or, knowingly, --switch-insecure-plaintext/);
    assert.deepEqual(clientTransport({ switchInsecurePlaintext: true }), { kind: 'plaintext' });
    assert.throws(() => clientTransport({ switchCaFile: 'ca', switchCertFile: 'c' }), /mutual TLS needs --switch-key-file too \(given: --switch-ca-file, --switch-cert-file\)/);
    assert.throws(() => clientTransport({ switchCaFile: 'ca', switchInsecurePlaintext: true }), /choose plaintext or mutual TLS/);
    assert.deepEqual(clientTransport({ switchCaFile: 'a', switchCertFile: 'b', switchKeyFile: 'c', switchServerName: 'sw' }), { kind: 'mtls', caFile: 'a', certFile: 'b', keyFile: 'c', serverName: 'sw' });
    assert.throws(() => serverTransport({}), /--tls-cert-file, --tls-private-key-file, --client-ca-file\) or, knowingly, --insecure-plaintext/);
    assert.throws(() => serverTransport({ insecurePlaintext: true, writerIdentity: ['x'] }), /--writer-identity needs mutual TLS/);
    assert.deepEqual(serverTransport({ tlsCertFile: 'c', tlsPrivateKeyFile: 'k', clientCaFile: 'ca' }), { kind: 'mtls', caFile: 'ca', certFile: 'c', keyFile: 'k' });
  });
});
