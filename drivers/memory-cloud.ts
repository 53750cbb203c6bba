// An in-memory cloud behind the CloudDriver interface: used directly by the simulator (no sockets,
// no real timers when given a clock) and by tests. It runs the same driver logic as the OpenStack
// driver (service-driver.ts) over an in-memory model with the same rules, plus fault injection.
import { FaultInjector, type FaultConfig } from './faults.js';
import { transferImageBits, type SourceFetcher, type TransferReport } from './image-transfer.js';
import { memoryServiceApis, type MemoryServices } from './memory/apis.js';
import { CloudModel } from './memory/model.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
import { ServiceDriver } from './service-driver.js';
import type { ImageApi } from './service-api.js';
import { realSleep, sleepOn, type DriverClock, type DriverLogger, type ImageSource, type Sleep } from './types.js';

/** The project MemoryCloud acts as (the owner of the images it creates). */
export const MEMORY_CLOUD_ADMIN_PROJECT = 'admin';

export interface MemoryCloudOptions {
  /** Share one model between several drivers or with a mock server; default: a fresh one. */
  model?: CloudModel;
  /** Virtual time: sleeps (latency, timeouts) become timers on this clock and `now` comes from it. */
  clock?: DriverClock;
  /** Overrides the clock's sleep (or the real one). */
  sleep?: Sleep;
  /** The only randomness (fault draws, retry jitter); default Math.random. */
  random?: () => number;
  faults?: Partial<FaultConfig>;
  /**
   * Opens image sources. Without it uploads are "declared": no bits move, and the image becomes
   * active with the catalog's sha512 as Glance's os_hash_value (what the simulator wants).
   */
  fetchSource?: SourceFetcher;
  /** Retries of one image transfer when fetchSource is given. */
  transferRetry?: RetryPolicy;
  /** Which services exist (all by default): a cloud without Neutron has network: false. */
  services?: Partial<MemoryServices>;
  logger?: DriverLogger;
  /** The stackraft cluster whose markers this driver writes and honours (service-driver.ts). */
  clusterId?: string;
}

export class MemoryCloud extends ServiceDriver {
  readonly model: CloudModel;
  readonly faults: FaultInjector;

  constructor(options: MemoryCloudOptions = {}) {
    const clock = options.clock;
    const model = options.model ?? new CloudModel(clock === undefined ? {} : { now: () => clock.now() });
    const sleep = options.sleep ?? (clock === undefined ? realSleep : sleepOn(clock));
    const random = options.random ?? Math.random;
    const faults = new FaultInjector(random, sleep, options.faults);
    const services: MemoryServices = { compute: true, image: true, volume: true, network: true, ...options.services };
    const apis = memoryServiceApis(model, faults, services, MEMORY_CLOUD_ADMIN_PROJECT);
    const fetchSource = options.fetchSource;
    const retry = { policy: options.transferRetry ?? DEFAULT_RETRY_POLICY, random, sleep };
    super({
      driverName: 'memory',
      resolveApis: async () => apis,
      transferBits:
        fetchSource === undefined
          ? (images, id, source) => declaredTransfer(model, faults, images, id, source)
          : (images, id, source) => transferImageBits({ images, fetchSource, retry }, id, source),
      settleRetry: retry,
      logger: options.logger,
      ...(options.clusterId === undefined ? {} : { clusterId: options.clusterId }),
    });
    this.model = model;
    this.faults = faults;
  }
}

async function declaredTransfer(
  model: CloudModel,
  faults: FaultInjector,
  _images: ImageApi,
  id: string,
  source: ImageSource,
): Promise<TransferReport> {
  await faults.run({ service: 'image', method: 'PUT', path: `/v2/images/${id}/file`, write: true }, () => {
    model.beginUpload(id);
    model.finishUpload(id, { sizeBytes: 0, md5: '', sha512: source.sha512 ?? null });
  });
  return { digests: { sizeBytes: 0, sha512: source.sha512 ?? '' }, warnings: [] };
}
