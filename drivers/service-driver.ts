// CloudDriver over ServiceApis: the driver logic shared by MemoryCloud and the OpenStack driver.
// Each implementation supplies its service APIs (resolved lazily: a real cloud needs a Keystone
// catalog first), how to open an image source, and its retry settings.
import { CloudError } from './errors.js';
import type { RetryContext } from './retry.js';
import * as flavors from './ops/flavors.js';
import * as images from './ops/images.js';
import * as quotas from './ops/quotas.js';
import type { Marking } from './markers.js';
import type { ComputeApi, ImageApi, ServiceApis } from './service-api.js';
import {
  silentDriverLogger,
  type CloudCapabilities,
  type CloudDriver,
  type CloudFlavor,
  type CloudImage,
  type CloudImageDownload,
  type CloudQuota,
  type DriverLogger,
  type CloudFlavorSpec,
  type CloudImageSpec,
  type CloudQuotaSpec,
  type UpdateOptions,
  type CloudWriteResult,
} from './types.js';

export interface ServiceDriverParts {
  driverName: string;
  resolveApis: () => Promise<ServiceApis>;
  /** How image bits get in (usually transferImageBits: stream from the source URL, verify). */
  transferBits: images.BitsTransfer;
  /** Waiting for an image in a passing Glance state ('saving') before acting on it. */
  settleRetry: RetryContext;
  logger?: DriverLogger;
  onClose?: () => Promise<void>;
  /**
   * The stackraft cluster this driver works for: written into every marker, and only resources
   * marked with it (or marked before cluster ids) are listed, changed or deleted. Absent: the
   * behaviour of releases before cluster ids (every marked resource is ours) — for tools and tests.
   */
  clusterId?: string;
}

export class ServiceDriver implements CloudDriver {
  readonly driverName: string;
  private closed = false;
  private readonly logger: DriverLogger;
  private readonly marking: Marking;

  constructor(private readonly parts: ServiceDriverParts) {
    this.driverName = parts.driverName;
    this.logger = parts.logger ?? silentDriverLogger;
    this.marking = parts.clusterId === undefined ? {} : { clusterId: parts.clusterId };
  }

  protected async apis(): Promise<ServiceApis> {
    if (this.closed) {
      throw new CloudError({ code: 'CLOSED', service: 'driver', method: 'use', path: '', status: 0, cloudMessage: '', retryable: false, message: `${this.driverName} driver is closed` });
    }
    return this.parts.resolveApis();
  }

  private noEndpoint(what: string): CloudError {
    return new CloudError({
      code: 'NO_ENDPOINT',
      service: 'driver',
      method: what,
      path: '',
      status: 0,
      cloudMessage: '',
      retryable: false,
      message: `${this.driverName}: this cloud has no ${what} endpoint`,
    });
  }

  private async compute(): Promise<ComputeApi> {
    const api = (await this.apis()).compute;
    if (api === undefined) throw this.noEndpoint('compute');
    return api;
  }

  private async images(): Promise<ImageApi> {
    const api = (await this.apis()).image;
    if (api === undefined) throw this.noEndpoint('image');
    return api;
  }

  private async imageDeps(): Promise<images.ImageOpsDeps> {
    return { images: await this.images(), transfer: this.parts.transferBits, settle: this.parts.settleRetry, marking: this.marking };
  }

  private report<T extends { id?: string; project?: string }>(op: string, result: CloudWriteResult<T>): CloudWriteResult<T> {
    const id = result.resource.id ?? result.resource.project;
    for (const warning of result.warnings) this.logger.warn({ driver: this.driverName, op, id, replaced: result.replaced }, warning);
    return result;
  }

  async capabilities(): Promise<CloudCapabilities> {
    const apis = await this.apis();
    return {
      hasCompute: apis.compute !== undefined,
      hasImage: apis.image !== undefined,
      hasVolume: apis.volumeQuotas !== undefined,
      hasNetwork: apis.networkQuotas !== undefined,
    };
  }

  async listFlavors(): Promise<CloudFlavor[]> {
    return flavors.listFlavors(await this.compute(), this.marking);
  }
  async getFlavor(id: string): Promise<CloudFlavor | undefined> {
    return flavors.getFlavor(await this.compute(), id, this.marking);
  }
  async createFlavor(spec: CloudFlavorSpec): Promise<CloudWriteResult<CloudFlavor>> {
    return this.report('createFlavor', await flavors.createFlavor(await this.compute(), spec, this.marking));
  }
  async updateFlavor(spec: CloudFlavorSpec, options?: UpdateOptions): Promise<CloudWriteResult<CloudFlavor>> {
    return this.report('updateFlavor', await flavors.updateFlavor(await this.compute(), spec, this.marking, options));
  }
  async deleteFlavor(id: string): Promise<void> {
    await flavors.deleteFlavor(await this.compute(), id, this.marking);
  }

  /** Every flavor, whoever owns it (an import reads these; the reconciler never does). */
  async listAllFlavors(): Promise<CloudFlavor[]> {
    return flavors.listAllFlavors(await this.compute(), this.marking);
  }
  /** Marks an existing flavor as this cluster's without changing anything else (import --apply). */
  async claimFlavor(id: string): Promise<CloudFlavor> {
    return flavors.claimFlavor(await this.compute(), id, this.marking);
  }

  async listImages(): Promise<CloudImage[]> {
    return images.listImages(await this.images(), this.marking);
  }
  async getImage(id: string): Promise<CloudImage | undefined> {
    return images.getImage(await this.images(), id, this.marking);
  }
  async createImage(spec: CloudImageSpec): Promise<CloudWriteResult<CloudImage>> {
    return this.report('createImage', await images.createImage(await this.imageDeps(), spec));
  }
  async updateImage(spec: CloudImageSpec): Promise<CloudWriteResult<CloudImage>> {
    return this.report('updateImage', await images.updateImage(await this.imageDeps(), spec));
  }
  async deleteImage(id: string): Promise<void> {
    await images.deleteImage(await this.images(), id, this.marking);
  }
  /** Every image, whoever owns it (an import reads these; the reconciler never does). */
  async listAllImages(): Promise<CloudImage[]> {
    return images.listAllImages(await this.images(), this.marking);
  }
  /** The bits of an active image (adoption into the blob store). */
  async downloadImage(id: string): Promise<CloudImageDownload> {
    return images.downloadImage(await this.images(), id, this.marking);
  }
  /** Marks an existing image holding the spec's bits as this cluster's, bits untouched. */
  async claimImage(spec: CloudImageSpec): Promise<CloudImage> {
    return images.claimImage(await this.images(), spec, this.marking);
  }

  async listQuotas(projects: readonly string[]): Promise<CloudQuota[]> {
    return quotas.listQuotas(await this.apis(), projects);
  }
  async getQuota(project: string): Promise<CloudQuota> {
    return quotas.getQuota(await this.apis(), project);
  }
  async createQuota(spec: CloudQuotaSpec): Promise<CloudWriteResult<CloudQuota>> {
    return this.report('createQuota', await quotas.setQuota(await this.apis(), spec));
  }
  async updateQuota(spec: CloudQuotaSpec): Promise<CloudWriteResult<CloudQuota>> {
    return this.report('updateQuota', await quotas.setQuota(await this.apis(), spec));
  }
  async deleteQuota(project: string): Promise<CloudWriteResult<CloudQuota>> {
    return this.report('deleteQuota', await quotas.resetQuota(await this.apis(), project));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.parts.onClose?.();
  }
}
