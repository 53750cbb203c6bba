#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build`.
import { existsSync } from 'node:fs';
const main = new URL('../dist/cmd/stackraft.js', import.meta.url);
if (!existsSync(main)) {
  console.error('stackraft is not built yet: run `npm run build` (or `npm install` then `npm test`) in the repository first.');
  process.exit(1);
}
await import(main.href);
