// The command-line spelling of a P4Runtime transport (transport.ts). Clients
// (the controller and the read-only tools) name the switch's CA and their own
// certificate with --switch-*-file, as a kubeconfig names the API server's;
// the software switch names its own with kube-apiserver's flag names
// (--tls-cert-file, --tls-private-key-file, --client-ca-file). Plaintext is
// never a default: it takes --switch-insecure-plaintext / --insecure-plaintext.
import { Option, type Command } from 'commander';
import { UserError } from '../cli/errors.js';
import type { P4RuntimeTransport } from './transport.js';

export interface ClientTransportFlags {
  switchCaFile?: string;
  switchCertFile?: string;
  switchKeyFile?: string;
  switchServerName?: string;
  switchInsecurePlaintext?: boolean;
}

export interface ServerTransportFlags {
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  clientCaFile?: string;
  insecurePlaintext?: boolean;
  writerIdentity?: string[];
}

export function addClientTransportOptions(command: Command): Command {
  return command
    .addOption(new Option('--switch-ca-file <pem>', "CA certificate that signed the switch's P4Runtime server certificate (mutual TLS)"))
    .addOption(new Option('--switch-cert-file <pem>', 'this client\'s certificate for the switch (mutual TLS)'))
    .addOption(new Option('--switch-key-file <pem>', "this client's private key for the switch (mutual TLS)"))
    .addOption(new Option('--switch-server-name <name>', "the name in the switch's certificate, when it is not the host dialled"))
    .addOption(new Option('--switch-insecure-plaintext', 'talk P4Runtime to the switch without TLS (anyone on the path can reprogram it)').default(false));
}

export function addServerTransportOptions(command: Command): Command {
  return command
    .addOption(new Option('--tls-cert-file <pem>', "the P4Runtime server's certificate (mutual TLS)"))
    .addOption(new Option('--tls-private-key-file <pem>', "the P4Runtime server's private key"))
    .addOption(new Option('--client-ca-file <pem>', 'CA certificate that signs the clients\' certificates; clients without one are refused'))
    .addOption(new Option('--insecure-plaintext', 'serve P4Runtime without TLS (anyone who reaches the address can reprogram the switch)').default(false))
    .addOption(
      new Option('--writer-identity <name>', 'a client certificate name (CN or DNS SAN) that may write (repeatable; default: every client the CA vouches for)').argParser(
        (v: string, acc: string[] | undefined) => [...(acc ?? []), v],
      ),
    );
}

/** The transport the client flags ask for, or a UserError naming what is missing. */
export function clientTransport(f: ClientTransportFlags): P4RuntimeTransport {
  const given = { '--switch-ca-file': f.switchCaFile, '--switch-cert-file': f.switchCertFile, '--switch-key-file': f.switchKeyFile };
  return choose(given, !!f.switchInsecurePlaintext, '--switch-insecure-plaintext', () => ({
    kind: 'mtls',
    caFile: f.switchCaFile!,
    certFile: f.switchCertFile!,
    keyFile: f.switchKeyFile!,
    ...(f.switchServerName ? { serverName: f.switchServerName } : {}),
  }));
}

/** The transport the server flags ask for. */
export function serverTransport(f: ServerTransportFlags): P4RuntimeTransport {
  const given = { '--tls-cert-file': f.tlsCertFile, '--tls-private-key-file': f.tlsPrivateKeyFile, '--client-ca-file': f.clientCaFile };
  const t = choose(given, !!f.insecurePlaintext, '--insecure-plaintext', () => ({ kind: 'mtls', caFile: f.clientCaFile!, certFile: f.tlsCertFile!, keyFile: f.tlsPrivateKeyFile! }));
  if (t.kind === 'plaintext' && f.writerIdentity?.length) throw new UserError('--writer-identity needs mutual TLS: a plaintext channel names nobody');
  return t;
}

function choose(files: Record<string, string | undefined>, plaintext: boolean, plaintextFlag: string, mtls: () => P4RuntimeTransport): P4RuntimeTransport {
  const named = Object.keys(files).filter((k) => files[k]);
  const all = Object.keys(files);
  if (plaintext) {
    if (named.length > 0) throw new UserError(`${plaintextFlag} and ${named.join(', ')}: choose plaintext or mutual TLS`);
    return { kind: 'plaintext' };
  }
  if (named.length === 0) throw new UserError(`P4Runtime needs mutual TLS (${all.join(', ')}) or, knowingly, ${plaintextFlag}`);
  if (named.length < all.length) throw new UserError(`mutual TLS needs ${all.filter((k) => !files[k]).join(' and ')} too (given: ${named.join(', ')})`);
  return mtls();
}
