// How a P4Runtime channel is protected: mutual TLS (the server and every
// client present a certificate signed by the CA the other side trusts), or
// plaintext, which exists only for tests and for a switch reachable by
// nobody else, and must be asked for by name. Whoever reaches a switch's
// P4Runtime server in plaintext can reprogram every Service.
import { readFileSync } from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';

export type P4RuntimeTransport =
  | { readonly kind: 'plaintext' }
  | {
      readonly kind: 'mtls';
      /** PEM of the CA that signed the other side's certificate. */
      readonly caFile: string;
      /** PEM of this side's certificate (chain) and its private key. */
      readonly certFile: string;
      readonly keyFile: string;
      /** Client only: the name the server's certificate must carry, when it is not the host being dialled (a unix socket, a relay). */
      readonly serverName?: string;
    };

export const PLAINTEXT: P4RuntimeTransport = { kind: 'plaintext' };

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new Error(`${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

/** A client's channel credentials and the channel options TLS needs. */
export function clientChannel(t: P4RuntimeTransport): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  if (t.kind === 'plaintext') return { credentials: grpc.credentials.createInsecure(), options: {} };
  const credentials = grpc.credentials.createSsl(read(t.caFile, 'CA certificate'), read(t.keyFile, 'private key'), read(t.certFile, 'certificate'));
  return { credentials, options: t.serverName ? { 'grpc.ssl_target_name_override': t.serverName, 'grpc.default_authority': t.serverName } : {} };
}

/** A server's credentials: with mTLS, a client without a certificate from the CA is refused during the handshake. */
export function serverCredentials(t: P4RuntimeTransport): grpc.ServerCredentials {
  if (t.kind === 'plaintext') return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(read(t.caFile, 'client CA certificate'), [{ cert_chain: read(t.certFile, 'certificate'), private_key: read(t.keyFile, 'private key') }], true);
}

/** What the server knows of a call's peer (grpc-js server calls). */
export interface ServerCall {
  getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null;
}

/**
 * The names a verified client certificate carries: its subject's common name
 * and its DNS subject alternative names. Undefined on a plaintext channel
 * (nobody is authenticated there).
 */
export function peerIdentities(call: ServerCall): string[] | undefined {
  const cert = call.getAuthContext()?.sslPeerCertificate;
  if (!cert) return undefined;
  const names = new Set<string>();
  const cn = cert.subject?.CN;
  for (const n of Array.isArray(cn) ? cn : cn ? [cn] : []) names.add(n);
  for (const alt of (cert.subjectaltname ?? '').split(',')) {
    const m = /^\s*DNS:(.+)$/.exec(alt);
    if (m) names.add(m[1]!.trim());
  }
  return [...names];
}
