#!/usr/bin/env node
// Writes dist/build-info.json: the commit and time of this build (cli/version.ts
// reads it). TALARIA_GIT_COMMIT names the commit where there is no .git (an
// image build); a tree with uncommitted changes gets "-dirty".
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

function git(args) {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

const commit = process.env.TALARIA_GIT_COMMIT || git(['rev-parse', 'HEAD']);
const dirty = !process.env.TALARIA_GIT_COMMIT && commit && git(['status', '--porcelain', '--untracked-files=no']) ? '-dirty' : '';
const out = process.argv[2] ?? 'dist/build-info.json';
writeFileSync(out, `${JSON.stringify({ gitCommit: commit ? `${commit}${dirty}` : 'unknown', buildDate: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') }, null, 2)}\n`);
