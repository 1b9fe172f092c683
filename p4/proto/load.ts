// Loads the P4Runtime protocol definitions once, for two users: grpc-js (a
// service definition for the client and the server) and protobufjs (message
// types for what travels inside google.protobuf.Any and the text-format
// P4Info). Both see the same .proto files with the same conversion options,
// so a message decoded by one looks exactly like one decoded by the other.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { PROTO_DIR } from '../paths.js';

const require = createRequire(import.meta.url);

/** google/rpc/status.proto, code.proto and google/protobuf/any.proto. */
export const GOOGLE_PROTO_DIR = dirname(require.resolve('google-proto-files/package.json'));

const ENTRY_FILES = ['p4/v1/p4runtime.proto'];

/**
 * How messages look in TypeScript, for grpc-js and protobufjs alike:
 * - field names as in the .proto (snake_case), like the specification and
 *   every other P4Runtime client, so that a message reads the same everywhere;
 * - 64-bit integers as decimal strings (device_id, election ids, counters):
 *   no silent precision loss; convert with BigInt();
 * - enums as their names ('INSERT', 'ROLLBACK_ON_ERROR'); numbers are
 *   accepted on input;
 * - bytes as Buffer; absent scalars and repeated fields get their defaults;
 * - a oneof gets a virtual field naming its set member (entity.entity ===
 *   'table_entry').
 */
export const CONVERSION = {
  keepCase: true,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
} as const;

let cachedPackage: grpc.GrpcObject | undefined;
let cachedRoot: protobuf.Root | undefined;

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of [PROTO_DIR, GOOGLE_PROTO_DIR]) {
      const path = join(dir, target);
      if (existsSync(path)) return path;
    }
    return target;
  };
  root.loadSync(ENTRY_FILES, { keepCase: true });
  root.resolveAll();
  return root;
}

/** The protobufjs root holding p4.v1, p4.config.v1 and google.rpc. */
export function protoRoot(): protobuf.Root {
  cachedRoot ??= loadRoot();
  return cachedRoot;
}

/** A message type by fully qualified name ('p4.v1.Error'). */
export function messageType(fullName: string): protobuf.Type {
  return protoRoot().lookupType(fullName);
}

/** Encodes a plain object (CONVERSION form) as the given message type. */
export function encodeMessage(fullName: string, value: object): Buffer {
  const type = messageType(fullName);
  return Buffer.from(type.encode(type.fromObject(value)).finish());
}

/** Decodes bytes of the given message type into the CONVERSION form. */
export function decodeMessage<T>(fullName: string, bytes: Uint8Array): T {
  const type = messageType(fullName);
  return type.toObject(type.decode(bytes), CONVERSION) as T;
}

/** The grpc-js package object: `.p4.v1.P4Runtime` is the service client constructor. */
export function grpcPackage(): grpc.GrpcObject {
  if (!cachedPackage) {
    const definition = protoLoader.loadSync(ENTRY_FILES, {
      ...CONVERSION,
      includeDirs: [PROTO_DIR, GOOGLE_PROTO_DIR],
    });
    cachedPackage = grpc.loadPackageDefinition(definition);
  }
  return cachedPackage;
}

/** The P4Runtime service definition (for grpc.Server.addService). */
export function p4RuntimeService(): grpc.ServiceDefinition {
  return p4RuntimeClientConstructor().service;
}

/** The generated client constructor for p4.v1.P4Runtime. */
export function p4RuntimeClientConstructor(): grpc.ServiceClientConstructor {
  const p4 = grpcPackage().p4 as grpc.GrpcObject;
  const v1 = p4.v1 as grpc.GrpcObject;
  return v1.P4Runtime as grpc.ServiceClientConstructor;
}
