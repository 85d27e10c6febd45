#!/usr/bin/env node
// The CLI is TypeScript run directly by Node (>= 22.15 strips types; the project pins Node 24). Node's on-disk
// compile cache (in the OS temp dir unless NODE_COMPILE_CACHE says otherwise) spares re-stripping and re-compiling
// every module on each start: a command starts in a fraction of the time after its first run.
import module from 'node:module';

module.enableCompileCache?.();
await import('../src/cli/main.ts');
