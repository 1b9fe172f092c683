// The daemon's control socket: how `talaria testbed fault ...` asks the
// supervisor to do what only it can (restart a process it started, take the
// API server away from the nodes). One JSON request per connection, one JSON
// answer; a unix socket in the state directory, mode 0600 (root only).
import { chmod, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { stateDir } from './state.js';

export function controlSocket(): string {
  return join(stateDir(), 'control.sock');
}

export type ControlAnswer = { ok: true; message: string } | { ok: false; error: string };

export type ControlHandler = (request: unknown) => Promise<string>;

/** Serves requests until closed; a handler that throws answers { ok: false, error }. */
export async function serveControl(path: string, handle: ControlHandler): Promise<Server> {
  await rm(path, { force: true });
  const server = createServer((conn) => {
    let body = '';
    conn.setEncoding('utf8');
    conn.on('data', (d: string) => {
      body += d;
      if (!body.endsWith('\n')) return;
      const answer = (a: ControlAnswer) => conn.end(JSON.stringify(a) + '\n');
      let request: unknown;
      try {
        request = JSON.parse(body);
      } catch {
        answer({ ok: false, error: 'the request is not JSON' });
        return;
      }
      handle(request).then(
        (message) => answer({ ok: true, message }),
        (err: unknown) => answer({ ok: false, error: err instanceof Error ? err.message : String(err) }),
      );
    });
    conn.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  await chmod(path, 0o600);
  return server;
}

/** Sends one request to the daemon and returns its message; its error becomes the thrown one. */
export function requestControl(path: string, request: object): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(path);
    let body = '';
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(JSON.stringify(request) + '\n'));
    conn.on('data', (d: string) => (body += d));
    conn.on('error', (err: NodeJS.ErrnoException) => reject(new Error(err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? 'the testbed daemon does not answer (is a testbed up?)' : err.message)));
    conn.on('end', () => {
      try {
        const a = JSON.parse(body) as ControlAnswer;
        if (a.ok) resolve(a.message);
        else reject(new Error(a.error));
      } catch {
        reject(new Error(`the testbed daemon answered something that is not JSON: ${body.slice(0, 200)}`));
      }
    });
  });
}
