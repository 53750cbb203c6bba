#!/usr/bin/env node
// Runs the compiled node:test suites. Node 20's --test takes no globs, so we list the files.
// `--openstack` runs only the suites that need the real OpenStack lab (test/openstack/).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('../dist/test/', import.meta.url).pathname;
const openstack = process.argv.includes('--openstack');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

let files = findTests(root).sort();
files = files.filter((f) => f.includes('/test/openstack/') === openstack);
// Filters match the path under dist/test/ only: a checkout's own path (a worktree named `blob`) must not match.
if (only.length > 0) files = files.filter((f) => only.some((o) => `test/${f.slice(root.length)}`.includes(o)));
if (files.length === 0) {
  console.error('no test files found under dist/test (did the build run?)');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
