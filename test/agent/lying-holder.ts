// A member that lies, as a process of its own: it holds a site's key (that site's data directory,
// the site itself stopped), listens on the site's address, and answers the blob protocol from the
// site's own blob store with the agent's own parts (createSiteHost: TCP, Noise, yamux; BlobServer;
// BlobStore), except that every chunk it serves has its first byte flipped after the store has
// verified it. Manifests are served as they are, so fetchers take it for a holder. It speaks no
// Raft: to the cluster it is a member that is down for consensus but answers blob requests.
//
// Prints "ready <multiaddr>" once listening, then "lied <digest>" for every chunk it corrupts.
// Run: node dist/test/agent/lying-holder.js --data-dir DIR --listen MULTIADDR --cluster ID --allow PEERID...
import '../../agent/runtime/promise-shim.js';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../../consensus/ports.js';
import { nodeBlobDisk } from '../../agent/blobs/disk.js';
import type { BlobStorage } from '../../agent/blobs/ports.js';
import { BlobServer } from '../../agent/blobs/server.js';
import { BlobStore } from '../../agent/blobs/store.js';
import { BLOB_PROTOCOL, byteStreamOf, MAX_BLOB_STREAMS_PER_CONNECTION } from '../../agent/transport/blob-streams.js';
import { createSiteHost, MemberGater } from '../../agent/transport/host.js';
import { loadOrCreateIdentity } from '../../agent/transport/identity.js';

/** The store's answers, with each chunk's first byte flipped on the way out. */
function flippingChunks(store: BlobStore, onLie: (digest: string) => void): BlobStorage {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'readChunk') {
        return async (digest: string): Promise<Uint8Array | null> => {
          const honest = await target.readChunk(digest);
          if (honest === null || honest.length === 0) return honest;
          const lie = Buffer.from(honest);
          lie[0] = lie[0]! ^ 0xff;
          onLie(digest);
          return lie;
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  }) as BlobStorage;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      listen: { type: 'string' },
      cluster: { type: 'string' },
      allow: { type: 'string', multiple: true },
    },
  });
  const dataDir = values['data-dir'];
  if (dataDir === undefined || values.listen === undefined || values.cluster === undefined) {
    throw new Error('usage: lying-holder --data-dir DIR --listen MULTIADDR --cluster ID --allow PEERID...');
  }
  const identity = await loadOrCreateIdentity(dataDir);
  if (identity.created) throw new Error(`${dataDir} held no site key`);
  const store = await BlobStore.open(nodeBlobDisk(join(dataDir, 'blobs')), { maxBytes: Number.MAX_SAFE_INTEGER });
  const server = new BlobServer({
    clusterId: values.cluster,
    store: flippingChunks(store, (digest) => process.stdout.write(`lied ${digest}\n`)),
    logger: silentLogger,
  });
  const gater = new MemberGater();
  gater.setAllowedPeers(values.allow ?? []);
  const node = await createSiteHost({ privateKey: identity.privateKey, listenAddrs: [values.listen], gater });
  await node.handle(
    BLOB_PROTOCOL,
    (stream, connection) => server.handle(byteStreamOf(stream), connection.remotePeer.toString()),
    { maxInboundStreams: MAX_BLOB_STREAMS_PER_CONNECTION },
  );
  process.stdout.write(`ready ${node.getMultiaddrs()[0]?.toString() ?? values.listen}\n`);
  process.once('SIGTERM', () => {
    void Promise.resolve(node.stop()).finally(() => process.exit(0));
  });
}

main().catch((err: Error) => {
  process.stderr.write(`lying-holder: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
