// The OpenStack driver: CloudDriver over Keystone, Glance, Nova, Cinder and Neutron, through one
// undici Agent (a keep-alive connection pool per origin) with request timeouts and retries.
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { Agent, interceptors } from 'undici';
import { CloudConfigError, CloudError } from '../errors.js';
import { transferImageBits } from '../image-transfer.js';
import { DEFAULT_RETRY_POLICY, type RetryContext, type RetryPolicy } from '../retry.js';
import { ServiceDriver } from '../service-driver.js';
import type { ServiceApis } from '../service-api.js';
import { realSleep, silentDriverLogger, type DriverLogger, type ImageSource, type Sleep } from '../types.js';
import { resolveCloudConfig, type EndpointKind, type OpenStackCloudConfig, type ResolveCloudConfigOptions } from './config.js';
import { glanceImageApi, glanceRoot } from './glance.js';
import { HttpClient } from './http.js';
import { KeystoneSession, findEndpoint, type Token } from './keystone.js';
import { NOVA_MICROVERSION, novaComputeApi, novaMicroversionHeaders } from './nova.js';
import { cinderProjectBase, cinderQuotaApi, neutronBase, neutronQuotaApi } from './quota-services.js';
import { ServiceClient } from './service-client.js';
import { undiciSourceFetcher } from './source.js';

export interface OpenStackDriverOptions {
  /** Waiting for response headers and between body chunks of an ordinary request. */
  requestTimeoutMs?: number;
  /** Waiting for Glance to answer once an upload's last byte is sent (it may checksum and store). */
  uploadTimeoutMs?: number;
  /** Longest silence from an image source while downloading. */
  sourceIdleTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Retries of one request (and of one whole image transfer). */
  retry?: Partial<RetryPolicy>;
  /** Renew the token this long before it expires. */
  tokenRenewMarginMs?: number;
  /** Keep-alive connections per origin. */
  connectionsPerOrigin?: number;
  keepAliveTimeoutMs?: number;
  /** Flavors and images per list page (the cloud may cap it lower; paging follows its links). */
  listPageSize?: number;
  /** Compute microversion sent to Nova (see nova.ts for why 2.61). */
  computeMicroversion?: string;
  random?: () => number;
  sleep?: Sleep;
  now?: () => number;
  logger?: DriverLogger;
  /**
   * Opens the bits of a source the caller holds itself (the agent's blob store), or answers
   * undefined to have the source's URL downloaded. The bits pass the same digest checks either way.
   */
  localSource?: (source: ImageSource) => Promise<Readable> | undefined;
  /** The stackraft cluster whose markers this driver writes and honours (service-driver.ts). */
  clusterId?: string;
}

export const DEFAULT_OPENSTACK_OPTIONS = {
  requestTimeoutMs: 30_000,
  uploadTimeoutMs: 30 * 60_000,
  sourceIdleTimeoutMs: 60_000,
  connectTimeoutMs: 10_000,
  tokenRenewMarginMs: 5 * 60_000,
  connectionsPerOrigin: 8,
  keepAliveTimeoutMs: 10_000,
} as const;

/** Looks at an image in a passing state ('saving') this many times before reporting it busy. */
export const SETTLE_ATTEMPTS = 6;

/** Catalog service types per endpoint kind, preferred first. */
export const SERVICE_TYPES: Readonly<Record<EndpointKind, readonly string[]>> = {
  image: ['image'],
  compute: ['compute'],
  volume: ['block-storage', 'volumev3'],
  network: ['network'],
};

function buildAgent(config: OpenStackCloudConfig, o: Required<Pick<OpenStackDriverOptions, 'connectTimeoutMs' | 'connectionsPerOrigin' | 'keepAliveTimeoutMs'>>): Agent {
  let ca: string | undefined;
  if (config.caCertFile !== undefined) {
    try {
      ca = readFileSync(config.caCertFile, 'utf8');
    } catch (err) {
      throw new CloudConfigError(config.source, 'cacert', `cannot be read (${config.caCertFile}): ${(err as Error).message}`);
    }
  }
  return new Agent({
    connections: o.connectionsPerOrigin,
    keepAliveTimeout: o.keepAliveTimeoutMs,
    connect: { timeout: o.connectTimeoutMs, ...(ca === undefined ? {} : { ca }), ...(config.insecure ? { rejectUnauthorized: false } : {}) },
  });
}

const POSITIVE_OPTIONS = ['requestTimeoutMs', 'uploadTimeoutMs', 'sourceIdleTimeoutMs', 'connectTimeoutMs', 'connectionsPerOrigin', 'keepAliveTimeoutMs'] as const;

function checkPositive(o: Record<(typeof POSITIVE_OPTIONS)[number] | 'tokenRenewMarginMs', number>): void {
  for (const key of POSITIVE_OPTIONS) {
    if (!(o[key] > 0)) throw new RangeError(`OpenStack driver option ${key} must be above 0 (got ${o[key]})`);
  }
  if (!(o.tokenRenewMarginMs >= 0)) throw new RangeError(`OpenStack driver option tokenRenewMarginMs must be >= 0 (got ${o.tokenRenewMarginMs})`);
}

/** Options without keys set to undefined (which would otherwise override a default). */
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export class OpenStackDriver extends ServiceDriver {
  readonly config: OpenStackCloudConfig;
  readonly session: KeystoneSession;
  private readonly http: HttpClient;
  private readonly log: DriverLogger;
  private readonly microversion: string;
  private readonly uploadTimeoutMs: number;
  private readonly listPageSize: number | undefined;
  private apisPromise: Promise<ServiceApis> | undefined;

  constructor(config: OpenStackCloudConfig, options: OpenStackDriverOptions = {}) {
    const o = { ...DEFAULT_OPENSTACK_OPTIONS, ...definedOnly(options) };
    checkPositive(o);
    const random = options.random ?? Math.random;
    const sleep = options.sleep ?? realSleep;
    const logger = options.logger ?? silentDriverLogger;
    const retry: RetryContext = { policy: { ...DEFAULT_RETRY_POLICY, ...definedOnly(options.retry ?? {}) }, random, sleep };
    if (!(Number.isInteger(retry.policy.maxAttempts) && retry.policy.maxAttempts >= 1)) {
      throw new RangeError(`retry.maxAttempts must be an integer >= 1 (got ${retry.policy.maxAttempts})`);
    }
    const agent = buildAgent(config, o);
    const sourceDispatcher = agent.compose(interceptors.redirect({ maxRedirections: 5 }));
    const fetchUrl = undiciSourceFetcher(sourceDispatcher, { headersTimeoutMs: o.requestTimeoutMs, idleTimeoutMs: o.sourceIdleTimeoutMs });
    const localSource = options.localSource;
    const fetchSource = (source: ImageSource) => localSource?.(source) ?? fetchUrl(source);
    // resolveApis needs `this`, which does not exist until super() returns.
    let self: OpenStackDriver | undefined;
    super({
      driverName: 'openstack',
      resolveApis: () => self!.resolveApis(),
      transferBits: (images, id, source) => transferImageBits({ images, fetchSource, retry }, id, source),
      settleRetry: { ...retry, policy: { ...retry.policy, maxAttempts: Math.max(retry.policy.maxAttempts, SETTLE_ATTEMPTS) } },
      logger,
      onClose: () => agent.close(),
      ...(options.clusterId === undefined ? {} : { clusterId: options.clusterId }),
    });
    self = this;
    this.config = config;
    this.log = logger;
    this.microversion = o.computeMicroversion ?? NOVA_MICROVERSION;
    this.uploadTimeoutMs = o.uploadTimeoutMs;
    this.listPageSize = options.listPageSize;
    this.http = new HttpClient({ dispatcher: agent, retry, requestTimeoutMs: o.requestTimeoutMs, logger });
    this.session = new KeystoneSession(this.http, config.auth, { now: options.now ?? Date.now, renewMarginMs: o.tokenRenewMarginMs });
  }

  /** The endpoint of one service: the override, else the catalog's, else undefined (service absent). */
  private endpoint(token: Token, kind: EndpointKind): string | undefined {
    return this.config.endpointOverrides[kind]?.replace(/\/+$/, '') ?? findEndpoint(token.catalog, SERVICE_TYPES[kind], this.config.interface, this.config.regionName);
  }

  private async buildApis(): Promise<ServiceApis> {
    const token = await this.session.token();
    const apis: ServiceApis = {};
    const client = (service: CloudError['service'], base: string, headers?: Record<string, string>) => new ServiceClient(this.http, this.session, service, base, headers);
    const compute = this.endpoint(token, 'compute');
    if (compute !== undefined) apis.compute = novaComputeApi(client('compute', compute, novaMicroversionHeaders(this.microversion)), this.listPageSize);
    const image = this.endpoint(token, 'image');
    if (image !== undefined) apis.image = glanceImageApi(client('image', glanceRoot(image)), this.uploadTimeoutMs, this.listPageSize);
    const volume = this.endpoint(token, 'volume');
    if (volume !== undefined) apis.volumeQuotas = cinderQuotaApi(client('volume', cinderProjectBase(volume, token.projectId)));
    const network = this.endpoint(token, 'network');
    if (network !== undefined) apis.networkQuotas = neutronQuotaApi(client('network', neutronBase(network)));
    this.log.info(
      { driver: 'openstack', source: this.config.source, region: this.config.regionName, interface: this.config.interface, compute, image, volume, network },
      'OpenStack endpoints resolved',
    );
    return apis;
  }

  /** Authenticates on first use; endpoints are read once from the first token's catalog. */
  private resolveApis(): Promise<ServiceApis> {
    this.apisPromise ??= this.buildApis().catch((err: unknown) => {
      this.apisPromise = undefined;
      throw err;
    });
    return this.apisPromise;
  }

  /** The service APIs themselves (one call per REST request), for tools and tests. */
  serviceApis(): Promise<ServiceApis> {
    return this.resolveApis();
  }
}

export interface CreateOpenStackDriverOptions extends ResolveCloudConfigOptions, OpenStackDriverOptions {}

/** A driver from a clouds.yaml cloud (or OS_CLOUD) or from OS_* variables; see resolveCloudConfig. */
export function createOpenStackDriver(options: CreateOpenStackDriverOptions = {}): OpenStackDriver {
  return new OpenStackDriver(resolveCloudConfig(options), options);
}
