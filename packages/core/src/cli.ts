#!/usr/bin/env node
// Entry point of the operator (bin: hybridcloud-postgresql-operator). reflect-metadata must load
// before any tsyringe-decorated class.
import 'reflect-metadata';
import { main } from './cli/commands.js';

main(process.argv.slice(2)).then(
  (code) => {
    // `run` returns when the operator stops; the exit code tells why.
    process.exitCode = code;
  },
  (err: unknown) => {
    // Only bugs get here: user errors are handled inside main().
    console.error(err);
    process.exitCode = 70;
  },
);
