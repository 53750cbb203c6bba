import { openDurableStore } from './dist/storage/durable-store.js';
const logger = { info: console.log, warn: console.log, error: console.log, debug() {}, fatal: console.log, child() { return logger; } };
const t0 = Date.now();
const store = await openDurableStore('/tmp/pm1/site-2/data/raft', logger);
const meta = await store.open();
console.log('opened in', Date.now() - t0, 'ms', JSON.stringify(meta).slice(0, 300));
const recs = await store.records();
console.log('records', recs.length);
await store.close();
