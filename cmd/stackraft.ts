#!/usr/bin/env node
// Entry point of the `stackraft` program (bin/stackraft.js imports this file): the admin-socket
// commands of agent/cli plus the process commands of cmd/commands.ts.
import { processIo } from '../agent/cli/io.js';
import { runCli } from '../agent/cli/run.js';
import { allCommands } from '../agent/cli/commands/index.js';
import { PROCESS_COMMANDS } from './commands.js';

// `stackraft flavor list | head` closes stdout early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2), processIo(), allCommands(), PROCESS_COMMANDS);
