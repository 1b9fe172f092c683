// The P4 reference toolchain (p4c's `p4c-bm2-ss` and BMv2's
// `simple_switch_grpc`). It is in no package registry, so a user's machine
// usually lacks it: findP4Tools() says why it is missing, and the tests that
// need it skip with that reason (CI unpacks it: scripts/p4tools.sh).
// TALARIA_P4TOOLS names an unpacked tree (bin/, lib/, share/p4c/p4include);
// otherwise both programs are looked up on PATH.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { TALARIA_P4 } from '../paths.js';

export interface P4Tools {
  readonly p4c: string;
  readonly simpleSwitchGrpc: string;
  /** Environment the programs need (their shared libraries and p4c's includes). */
  readonly env: NodeJS.ProcessEnv;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** The toolchain, or a sentence saying why it was not found. */
export function findP4Tools(): P4Tools | string {
  const root = process.env.TALARIA_P4TOOLS;
  if (root) {
    const p4c = join(root, 'bin', 'p4c-bm2-ss');
    const simpleSwitchGrpc = join(root, 'bin', 'simple_switch_grpc');
    if (!executable(p4c) || !executable(simpleSwitchGrpc)) return `TALARIA_P4TOOLS=${root} has no bin/p4c-bm2-ss and bin/simple_switch_grpc`;
    const lib = join(root, 'lib');
    const env = {
      ...process.env,
      LD_LIBRARY_PATH: [lib, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
      P4C_16_INCLUDE_PATH: join(root, 'share', 'p4c', 'p4include'),
    };
    return { p4c, simpleSwitchGrpc, env };
  }
  const p4c = onPath('p4c-bm2-ss');
  const simpleSwitchGrpc = onPath('simple_switch_grpc');
  if (!p4c || !simpleSwitchGrpc) {
    return 'the P4 toolchain (p4c-bm2-ss, simple_switch_grpc) is not installed: set TALARIA_P4TOOLS (scripts/p4tools.sh unpacks it)';
  }
  return { p4c, simpleSwitchGrpc, env: process.env };
}

export interface CompiledProgram {
  /** BMv2 JSON: the device config of SetForwardingPipelineConfig. */
  readonly json: Buffer;
  /** The P4Info p4c wrote, in text format. */
  readonly p4infoText: string;
  /** p4c's warnings (stderr). */
  readonly warnings: string;
}

/** Compiles a v1model program (talaria.p4 by default) into outDir. */
export function compileForBmv2(tools: P4Tools, outDir: string, program = TALARIA_P4): CompiledProgram {
  mkdirSync(outDir, { recursive: true });
  const json = join(outDir, 'talaria.json');
  const p4info = join(outDir, 'talaria.p4info.txt');
  const run = spawnSync(tools.p4c, ['--arch', 'v1model', '-o', json, '--p4runtime-files', p4info, program], {
    env: tools.env,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`p4c-bm2-ss ${program}: ${run.stderr?.trim() || run.error?.message || `exit ${run.status}`}`);
  return { json: readFileSync(json), p4infoText: readFileSync(p4info, 'utf8'), warnings: run.stderr.trim() };
}
