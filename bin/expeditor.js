#!/usr/bin/env node
// The CLI is TypeScript run directly by Node (>= 22.12 strips types; the project pins Node 24).
await import('../src/cli/main.ts');
