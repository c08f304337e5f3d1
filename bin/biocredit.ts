#!/usr/bin/env node
import '../register.js';
import { runCli } from '../src/cli/main.js';

// A reader that stops early (`biocredit analyze --help | head`) closes stdout: that ends the output, not in a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await runCli(process.argv.slice(2));
