#!/usr/bin/env node
// The `datapact` command: runs the compiled CLI (built by `npm install` through `prepare`).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(compiled)) {
  console.error('datapact: dist/ is missing; run `npm run build` (npm install and npm start do it for you).');
  process.exit(1);
}
await import(compiled.href);
