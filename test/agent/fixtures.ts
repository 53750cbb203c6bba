// Catalog resources the end-to-end tests write, with the catalog's own field names.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before } from 'node:test';
import { createOpenStackDriver } from '../../drivers/index.js';
import type { ImageApi } from '../../drivers/service-api.js';
import type { AdminHttp, Reply } from './admin-http.js';
import { AgentCluster, type ClusterOptions } from './cluster.js';

export const PROJECT = '0123456789abcdef0123456789abcdef';

export function flavorSpec(id: string, vcpus = 1): Record<string, unknown> {
  return { name: id, vcpus, ram: 512, disk: 1 };
}

export function protectionGroupSpec(id: string, primarySite: string, secondarySite: string): Record<string, unknown> {
  return { name: id, project: PROJECT, replicationType: 'async', primarySite, secondarySite, volumeType: 'replicated-ssd', members: [] };
}

/** PUT of a flavor; asserts it committed and returns the log index it committed at. */
export async function putFlavor(admin: AdminHttp, id: string, vcpus = 1): Promise<number> {
  const reply = await admin.write('PUT', `/v1/resources/flavor/${id}`, { spec: flavorSpec(id, vcpus) });
  assert.equal(reply.status, 200, `PUT flavor ${id} on ${admin.socketPath}: ${reply.text}`);
  assert.equal(typeof reply.json.index, 'number');
  return reply.json.index as number;
}

/** Waits until every named site serves the flavor with `vcpus` from its local state. */
export async function waitForFlavorEverywhere(cluster: AgentCluster, sites: string[], id: string, vcpus: number): Promise<void> {
  await Promise.all(
    sites.map((site) =>
      cluster.waitFor(`flavor ${id} (vcpus ${vcpus}) on ${site}`, async () => {
        const reply = await cluster.admin(site).request('GET', `/v1/resources/flavor/${id}`);
        return reply.status === 200 && reply.json.resource.spec.vcpus === vcpus;
      }, 15_000),
    ),
  );
}

/** The error body's code, with the whole reply in the message when it is not what a test expects. */
export function errorCodeOf(reply: Reply): string {
  assert.equal(typeof reply.json?.error?.code, 'string', `expected a JSON error body, got HTTP ${reply.status}: ${reply.text}`);
  assert.equal(typeof reply.json.error.message, 'string');
  return reply.json.error.code as string;
}

/** An operator's raw image in a cloud's Glance, its bits uploaded over HTTP (so a mock cloud keeps them for downloads). */
export async function glanceImageWithBits(images: ImageApi, name: string, bytes: Buffer, visibility = 'public'): Promise<string> {
  const id = randomUUID();
  await images.createImage({ id, name, diskFormat: 'raw', containerFormat: 'bare', visibility, minDisk: 0, minRam: 0, protected: false, tags: [], properties: {} });
  await images.uploadImageData(id, Readable.from([bytes]));
  return id;
}

/** A cluster of real agents with mock clouds, and a client of site-1's Glance for the images an operator puts there. */
export interface GlanceCluster {
  readonly cluster: AgentCluster;
  readonly images: ImageApi;
}

/** Call inside a describe(): starts the cluster before its tests and stops it (and the Glance client) after them. */
export function clusterWithGlance(options: ClusterOptions): GlanceCluster {
  const world = {} as { cluster: AgentCluster; images: ImageApi };
  let closeDriver: (() => Promise<void>) | undefined;
  before(async () => {
    world.cluster = await AgentCluster.start(options);
    const driver = createOpenStackDriver({ env: world.cluster.clouds.get('site-1')!.env() });
    closeDriver = () => driver.close();
    world.images = (await driver.serviceApis()).image!;
  });
  after(async () => {
    await closeDriver?.();
    await world.cluster?.destroy();
  });
  return world;
}
