import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createHttpServer } from 'node:http';
import { parseWrkOutput, runWrk, spreadHook } from './wrk.js';
import { freePort } from '../testbed/free-port.js';

test('parses the result line of the done hook', () => {
  const r = parseWrkOutput(
    'Running 1s test\nTALARIA_WRK {"requests":2000,"durationUs":1000000,"errors":1,"non2xx":2,"p50":100,"p90":200,"p99":900,"p999":1500}\n',
  );
  assert.equal(r.rps, 2000);
  assert.equal(r.errors, 3);
  assert.deepEqual(r.latencyMs, { p50: 0.1, p90: 0.2, p99: 0.9, p999: 1.5 });
});

test('a wrk run that printed no result is an error that shows the output', () => {
  assert.throws(() => parseWrkOutput('unable to connect to 10.0.0.1:80 Connection refused'), /Connection refused/);
});


test('measures a real nginx on loopback, keep-alive and a connection per request', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'talaria-nginx-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off; master_process off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 256; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port}; location / { return 200 "ok\\n"; } } }\n`,
  );
  const nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  // One process (master_process off): killing it leaves no orphaned worker behind.
  after(() => {
    nginx.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 50; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
      s.connect(port, '127.0.0.1');
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const spread = await runWrk({ netns: '', url: `http://127.0.0.1:${port}/`, spreadOver: [`127.0.0.1:${port}`, `localhost:${port}`], connections: 3, durationSeconds: 1, closeEachRequest: false });
  assert.ok(spread.requests > 50 && spread.errors === 0, `spread: ${JSON.stringify(spread)}`);
  assert.ok(spread.latencyMs.p50 > 0 && spread.latencyMs.p50 <= spread.latencyMs.p99);
  for (const closeEachRequest of [false, true]) {
    const r = await runWrk({ netns: '', url: `http://127.0.0.1:${port}/`, connections: 4, durationSeconds: 1, closeEachRequest });
    assert.ok(r.requests > 50, `only ${r.requests} requests (close=${closeEachRequest})`);
    assert.equal(r.errors, 0);
    assert.ok(r.latencyMs.p50 > 0 && r.latencyMs.p50 <= r.latencyMs.p99 && r.latencyMs.p99 <= r.latencyMs.p999);
  }
});

test('a connection per request spreads every thread over all targets; keep-alive stays where setup put it', async () => {
  const counts = [0, 0];
  const servers = counts.map((_, i) => createHttpServer((_req, res) => (counts[i]++, res.end('ok\n'))));
  after(() => servers.forEach((s) => s.close()));
  const ports = await Promise.all(servers.map((s) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)))));
  const targets = ports.map((p) => `127.0.0.1:${p}`);
  // One connection, so one wrk thread: only the per-request hook can reach the second server.
  const close = await runWrk({ netns: '', url: `http://${targets[0]}/`, spreadOver: targets, connections: 1, durationSeconds: 1, closeEachRequest: true });
  assert.equal(close.errors, 0);
  assert.ok(Math.min(...counts) > 0.4 * (counts[0] + counts[1]), `per connection: ${counts.join(' / ')}`);
  counts.fill(0);
  const keep = await runWrk({ netns: '', url: `http://${targets[0]}/`, spreadOver: targets, connections: 1, durationSeconds: 1, closeEachRequest: false });
  assert.ok(keep.requests > 50);
  assert.equal(counts[1], 0, `keep-alive: ${counts.join(' / ')}`);
});

test('the hooks name hosts without brackets and default the port', () => {
  assert.match(spreadHook(['[fd00::1]:8080', 'example:81', '10.0.0.1'], false), /\{"fd00::1","8080"\}, \{"example","81"\}, \{"10\.0\.0\.1","80"\}/);
  assert.doesNotMatch(spreadHook(['10.0.0.1:80'], false), /request = function/);
  assert.match(spreadHook(['10.0.0.1:80'], true), /request = function/);
});
