// Errors every driver throws. A CloudError says which service, which request, what status and what
// the service itself said, and whether trying the same thing again later may succeed.

/** Who produced the error: an OpenStack service, the image source, or the driver's own checks. */
export type CloudService = 'identity' | 'image' | 'compute' | 'volume' | 'network' | 'source' | 'driver';

export type CloudErrorCode =
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'IMAGE_ID_RETIRED'
  | 'NOT_SUPPORTED'
  | 'NOT_MANAGED'
  | 'INVALID_SPEC'
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'CHECKSUM_MISMATCH'
  | 'RATE_LIMITED'
  | 'UNAVAILABLE'
  | 'TIMEOUT'
  | 'CONNECTION'
  | 'BAD_RESPONSE'
  | 'NO_ENDPOINT'
  | 'CLOSED';

export interface CloudErrorInit {
  code: CloudErrorCode;
  service: CloudService;
  /** HTTP method, or the driver operation for errors raised before any request. */
  method: string;
  /** URL path (no host, no query), or the resource id for driver errors. */
  path: string;
  /** HTTP status; 0 when no response came (connection error, timeout) or no request was made. */
  status: number;
  /** The service's own message, cleaned of HTML; '' when none. */
  cloudMessage: string;
  retryable: boolean;
  /** Overrides the default message built from the fields above. */
  message?: string;
  cause?: unknown;
}

export class CloudError extends Error {
  readonly code: CloudErrorCode;
  readonly service: CloudService;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly cloudMessage: string;
  readonly retryable: boolean;

  constructor(init: CloudErrorInit) {
    super(init.message ?? defaultMessage(init), init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code;
    this.service = init.service;
    this.method = init.method;
    this.path = init.path;
    this.status = init.status;
    this.cloudMessage = init.cloudMessage;
    this.retryable = init.retryable;
  }

  /** Plain fields for logs and sync-status reports. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      service: this.service,
      method: this.method,
      path: this.path,
      status: this.status,
      cloudMessage: this.cloudMessage,
      retryable: this.retryable,
      message: this.message,
    };
  }
}

function defaultMessage(init: CloudErrorInit): string {
  const status = init.status === 0 ? init.code : String(init.status);
  const said = init.cloudMessage === '' ? '' : `: ${init.cloudMessage}`;
  return `${init.service} ${init.method} ${init.path} failed (${status})${said}`;
}

type Init = Omit<CloudErrorInit, 'code' | 'retryable'> & { retryable?: boolean };

export class NotFoundError extends CloudError {
  constructor(init: Init) {
    super({ ...init, code: 'NOT_FOUND', retryable: init.retryable ?? false });
  }
}

/** 409: the id exists, or the resource is in a state that forbids the change right now. */
export class ConflictError extends CloudError {
  constructor(init: Init & { code?: 'CONFLICT' | 'IMAGE_ID_RETIRED' }) {
    super({ ...init, code: init.code ?? 'CONFLICT', retryable: init.retryable ?? false });
  }
}

/**
 * Glance refuses an id that a deleted image once had, forever (until its deleted rows are purged).
 * Never retryable: the operator must purge Glance's database or publish the image under a new id.
 */
export class ImageIdRetiredError extends ConflictError {
  constructor(init: Omit<Init, 'message'> & { imageId: string }) {
    super({
      ...init,
      code: 'IMAGE_ID_RETIRED',
      retryable: false,
      message:
        `Glance refuses image id ${init.imageId}: an image with this id existed and was deleted, and Glance never ` +
        `reuses the id of a deleted image (409 "${init.cloudMessage}"). Either publish the image under a new id, ` +
        `or have the cloud operator purge Glance's deleted rows (glance-manage db purge --age_in_days 0, then ` +
        `glance-manage db purge_images_table --age_in_days 0) and let stackraft retry.`,
    });
  }
}

/** The cloud cannot make this change (a Nova flavor field with replace disallowed, new image bits). */
export class NotSupportedError extends CloudError {
  constructor(init: Omit<Init, 'status'> & { status?: number }) {
    super({ ...init, status: init.status ?? 0, code: 'NOT_SUPPORTED', retryable: false });
  }
}

/** The resource exists but is not stackraft's (no marker): it is never changed or deleted. */
export class NotManagedError extends CloudError {
  constructor(init: Omit<Init, 'status' | 'cloudMessage'>) {
    super({ ...init, status: 0, cloudMessage: '', code: 'NOT_MANAGED', retryable: false });
  }
}

/** The spec handed to the driver is not something the cloud could accept. */
export class InvalidSpecError extends CloudError {
  readonly field: string;
  constructor(kind: string, id: string, field: string, problem: string) {
    super({
      code: 'INVALID_SPEC',
      service: 'driver',
      method: `validate ${kind}`,
      path: id,
      status: 0,
      cloudMessage: '',
      retryable: false,
      message: `${kind} ${JSON.stringify(id)}: ${field} ${problem}`,
    });
    this.field = field;
  }
}

/** The bits did not match the catalog's digest, or Glance stored something other than what was sent. */
export class ChecksumMismatchError extends CloudError {
  constructor(init: Omit<Init, 'status' | 'cloudMessage'> & { status?: number }) {
    super({ ...init, status: init.status ?? 0, cloudMessage: '', code: 'CHECKSUM_MISMATCH', retryable: false });
  }
}

/**
 * An image source whose bits are still on their way to this site (a blob being fetched from peers):
 * nothing is wrong, the caller looks again later. Not retried by the driver's own transfer loop
 * (it would only wait longer before saying so); the message says how far the bits are.
 */
export class SourceNotReadyError extends CloudError {
  constructor(
    path: string,
    message: string,
    /** The last attempt to bring the bits failed (no holder answered, say): an error to show, still retried. */
    readonly stalled = false,
  ) {
    super({ code: 'UNAVAILABLE', service: 'source', method: 'GET', path, status: 0, cloudMessage: '', retryable: false, message });
  }
}

/** Maps an HTTP error status to the right error class and retryability. */
export function cloudErrorForStatus(init: Omit<CloudErrorInit, 'code' | 'retryable'>): CloudError {
  const { status } = init;
  if (status === 404) return new NotFoundError(init);
  if (status === 409) return new ConflictError(init);
  if (status === 400 || status === 413 || status === 415 || status === 422) {
    return new CloudError({ ...init, code: 'BAD_REQUEST', retryable: false });
  }
  if (status === 401) return new CloudError({ ...init, code: 'UNAUTHORIZED', retryable: false });
  if (status === 403) return new CloudError({ ...init, code: 'FORBIDDEN', retryable: false });
  if (status === 406) return new NotSupportedError(init);
  // A rate limit clears by itself: retryable, although the HTTP layer never retries a 4xx at once.
  if (status === 429) return new CloudError({ ...init, code: 'RATE_LIMITED', retryable: true });
  if (status >= 500) return new CloudError({ ...init, code: 'UNAVAILABLE', retryable: true });
  return new CloudError({ ...init, code: 'BAD_RESPONSE', retryable: false });
}

export function isRetryable(err: unknown): boolean {
  return err instanceof CloudError && err.retryable;
}

/** A clouds.yaml or OS_* environment problem, naming the file (or 'environment') and the field. */
export class CloudConfigError extends Error {
  constructor(
    readonly source: string,
    readonly field: string,
    problem: string,
  ) {
    super(`${source}: ${field === '' ? '' : `${field} `}${problem}`);
    this.name = 'CloudConfigError';
  }
}
