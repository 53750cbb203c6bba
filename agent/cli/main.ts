#!/usr/bin/env node
// Entry point of the `stackraft` command (bin/stackraft.js imports this file).
import { processIo } from './io.js';
import { runCli } from './run.js';

// `stackraft flavor list | head` closes stdout early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2), processIo());
