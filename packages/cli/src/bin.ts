#!/usr/bin/env node
import { main } from './cli.js';

// A reader that stops early (`attribution inspect model.onnx | head -1`) closes the pipe: the next write fails
// with EPIPE. As for any Unix filter, that ends the command quietly (exit 0 unless it had already failed),
// without a stack trace; an explain-dataset run stopped this way resumes where it stopped.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw e;
  });
}

process.exitCode = await main(process.argv.slice(2));
