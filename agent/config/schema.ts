// The agent's configuration file (/etc/stackraft/agent.yaml), validated at start. Every object is
// strict: an unknown (mistyped) field is an error, never silently ignored. Defaults live here and are
// documented in docs/configuration.md.
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { normalizeCountryCode } from '../catalog/countries.js';
import { LABEL_KEY, LABEL_VALUE, REGION_NAME, SITE_NAME } from '../catalog/names.js';
import type { StringRule } from '../catalog/spec-reader.js';
import { LOG_LEVELS } from '../ops/logger.js';
import { DEFAULT_HEAP_GROWTH_PERCENT, MAX_HEAP_GROWTH_PERCENT, MIN_HEAP_GROWTH_PERCENT } from '../ops/memory.js';
import { describeValue, expecting, integerIn, oneOf, patternString, positiveInteger } from './expect.js';
import { checkMultiaddr } from './multiaddr.js';

export const DEFAULT_CONFIG_PATH = '/etc/stackraft/agent.yaml';

export const CONFIG_DEFAULTS = {
  dataDir: '/var/lib/stackraft',
  listen: ['/ip4/0.0.0.0/tcp/7420'],
  adminSocket: '/run/stackraft/admin.sock',
  tickMs: 50,
  electionTimeoutTicks: 20,
  heartbeatTicks: 2,
  /** Off: on a LAN, or on a busy machine, measured round trips are load more than distance (DESIGN.md). */
  leaderPlacement: false,
  voters: 5,
  logLevel: 'info',
  openstackInterface: 'public',
  heapGrowthPercent: DEFAULT_HEAP_GROWTH_PERCENT,
  /** The blob store's bound (image bits replicated over the peer network): 64 GiB. */
  blobMaxBytes: 64 * 1024 ** 3,
} as const;

const CLUSTER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HOST_PORT_PATTERN = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** A string that follows one of the catalog's name rules: the config accepts exactly what the catalog does. */
function catalogName(rule: StringRule, what: string) {
  const e = expecting(`${what} (${rule.min === rule.max ? rule.min : `${rule.min}-${rule.max}`} characters${rule.patternHint ? `: ${rule.patternHint}` : ''})`);
  const base = z.string(e).min(rule.min, e).max(rule.max, e);
  return rule.pattern ? base.regex(rule.pattern, e) : base;
}

/** Site names are Raft member ids and catalog ids: the catalog's rule. */
export const siteName = () => catalogName(SITE_NAME, 'a site name');

const countryCode = () => {
  const e = expecting('an ISO 3166-1 alpha-2 country code such as DE');
  return z.string(e).refine((text) => normalizeCountryCode(text) !== undefined, e).transform((text) => normalizeCountryCode(text)!);
};

const absolutePath = () => {
  const e = expecting('an absolute path');
  return z.string(e).refine((p) => isAbsolute(p), e);
};

const multiaddrString = (requirePeerId: boolean) => {
  const what = requirePeerId ? 'a multiaddr ending in /p2p/<peer id>' : 'a multiaddr such as /ip4/0.0.0.0/tcp/7420';
  return z.string(expecting(what)).superRefine((text, ctx) => {
    const check = checkMultiaddr(text);
    if (!check.ok) ctx.addIssue({ code: 'custom', message: `expected ${what}, got ${describeValue(text)} (${check.reason})` });
    else if (requirePeerId && !check.peerId) ctx.addIssue({ code: 'custom', message: `expected ${what}, got ${describeValue(text)} (no /p2p/ component)` });
  });
};

const seedPeer = () =>
  z.strictObject(
    {
      site: siteName(),
      addr: multiaddrString(true),
    },
    expecting('a mapping with site (the peer\'s site name) and addr (a multiaddr ending in /p2p/<peer id>)'),
  );

const hostPort = () => {
  const what = 'host:port, such as 127.0.0.1:9464';
  return z.string(expecting(what)).superRefine((text, ctx) => {
    const match = HOST_PORT_PATTERN.exec(text);
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
      ctx.addIssue({ code: 'custom', message: `expected ${what}, got ${describeValue(text)}` });
    }
  });
};

const labels = () => {
  const keyWhat = `a label name (${LABEL_KEY.patternHint ?? 'letters and digits'})`;
  return z.record(catalogName(LABEL_KEY, 'a label name'), catalogName(LABEL_VALUE, 'a label value'), {
    // A bad key is reported by the record itself: say it is the name that is wrong.
    error: (issue) =>
      issue.code === 'invalid_key' ? `expected ${keyWhat}, got ${describeValue(issue.input)}` : expecting('a mapping of label names to values').error(issue),
  });
};

const siteSection = z.strictObject(
  {
    name: siteName(),
    region: catalogName(REGION_NAME, 'a region name'),
    country: countryCode(),
    labels: labels().default({}),
  },
  expecting('a mapping with name, region, country, labels'),
);

const openstackCloud = z.strictObject({
  type: z.literal('openstack'),
  /** The entry in clouds.yaml (as for `openstack --os-cloud`). */
  cloud: patternString(/^\S{1,128}$/, 'the name of a cloud in clouds.yaml'),
  /** Where clouds.yaml lives; the usual search path (/etc/openstack/clouds.yaml, ...) when absent. */
  cloudsYaml: absolutePath().optional(),
  region: patternString(/^\S{1,128}$/, 'a region name').optional(),
  interface: oneOf(['public', 'internal', 'admin'] as const).default(CONFIG_DEFAULTS.openstackInterface),
});

const mockCloud = z.strictObject({
  type: z.literal('mock'),
  /** URL of a running mock cloud; an in-process one when absent. */
  url: z.url({ protocol: /^https?$/, ...expecting('an http:// or https:// URL') }).optional(),
});

const noCloud = z.strictObject({ type: z.literal('none') });

const CLOUD_TYPES = ['openstack', 'mock', 'none'];
const cloudSection = z.discriminatedUnion('type', [openstackCloud, mockCloud, noCloud], {
  error: (issue) => {
    if (issue.input === undefined) return 'required field is missing';
    const input = issue.input as { type?: unknown } | null;
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return `expected a mapping with a type (${CLOUD_TYPES.join(', ')}), got ${describeValue(input)}`;
    return `expected type to be one of ${CLOUD_TYPES.join(', ')}, got ${describeValue(input.type)}`;
  },
});

/** Disaster recovery: how this site runs the steps the catalog gives it (agent/dr/action.ts). */
const drActionTimeout = () => integerIn(1000, 3_600_000, 'milliseconds from 1000 to 3600000').optional();
const drAction = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('exec'),
      /** The executable and its arguments; it reads the step as JSON on stdin, exit status 0 = done. */
      command: z.array(z.string(expecting('a string')).min(1, expecting('a non-empty string')), expecting('a list: the executable and its arguments')).min(1, expecting('at least the executable')),
      timeoutMs: drActionTimeout(),
    }),
    z.strictObject({
      type: z.literal('http'),
      /** POSTed the step as JSON (header Idempotency-Key); a 2xx answer = done. */
      url: z.url({ protocol: /^https?$/, ...expecting('an http:// or https:// URL') }),
      timeoutMs: drActionTimeout(),
    }),
  ],
  { error: () => 'expected a mapping with type exec (command) or http (url)' },
);
const drSection = z.strictObject({ action: drAction.optional() }, expecting('a mapping with action')).prefault({});

const timingSection = z
  .strictObject({
    /** One logical Raft tick. */
    tickMs: integerIn(10, 10_000, 'a positive integer from 10 to 10000 (milliseconds)').default(CONFIG_DEFAULTS.tickMs),
    electionTimeoutTicks: integerIn(3, 1_000, 'an integer from 3 to 1000').default(CONFIG_DEFAULTS.electionTimeoutTicks),
    heartbeatTicks: integerIn(1, 1_000, 'a positive integer up to 1000').default(CONFIG_DEFAULTS.heartbeatTicks),
    /** Hand the leadership to a clearly better-placed voter (consensus/placement.ts). */
    leaderPlacement: z.boolean({ error: (i) => `expected true or false, got ${describeValue(i.input)}` }).default(CONFIG_DEFAULTS.leaderPlacement),
  }, expecting('a mapping with tickMs, electionTimeoutTicks, heartbeatTicks, leaderPlacement'))
  .superRefine((timing, ctx) => {
    if (timing.heartbeatTicks >= timing.electionTimeoutTicks) {
      ctx.addIssue({
        code: 'custom',
        path: ['heartbeatTicks'],
        message: `must be less than timing.electionTimeoutTicks (${timing.electionTimeoutTicks}), got ${timing.heartbeatTicks}`,
      });
    }
  });

const votersField = () => {
  const what = 'an odd integer from 1 to 15 (an even count tolerates no more failures than one voter fewer)';
  const e = expecting(what);
  return z.number(e).int(e).min(1, e).max(15, e).refine((n) => n % 2 === 1, e);
};

export const agentConfigSchema = z.strictObject(
  {
    site: siteSection,
    /** Identifies the cluster: every frame carries it, a mismatch is refused. */
    clusterId: patternString(CLUSTER_ID_PATTERN, 'a cluster id (letters, digits, . _ -, at most 64)'),
    dataDir: absolutePath().default(CONFIG_DEFAULTS.dataDir),
    listen: z.array(multiaddrString(false), expecting('a list of multiaddrs')).min(1, expecting('at least one multiaddr')).default([...CONFIG_DEFAULTS.listen]),
    /** Addresses other sites should dial; derived from `listen` when empty. */
    announce: z.array(multiaddrString(false), expecting('a list of multiaddrs')).default([]),
    /**
     * Sites to reach before this one has the catalog (a joining site: the current members, as
     * printed by `stackraft site add`). Empty for the first site of a new cluster.
     */
    peers: z.array(seedPeer(), expecting('a list of { site, addr } entries')).default([]),
    adminSocket: absolutePath().default(CONFIG_DEFAULTS.adminSocket),
    cloud: cloudSection,
    timing: timingSection.prefault({}),
    dr: drSection,
    voters: votersField().default(CONFIG_DEFAULTS.voters),
    log: z.strictObject({ level: oneOf(LOG_LEVELS).default(CONFIG_DEFAULTS.logLevel) }, expecting('a mapping with level')).prefault({}),
    metrics: z
      .strictObject({ listen: hostPort().nullable().default(null) }, expecting('a mapping with listen'))
      .prefault({}),
    memory: z
      .strictObject(
        {
          /** V8 old-generation growth past the live heap before a full GC (agent/ops/memory.ts). */
          heapGrowthPercent: integerIn(
            MIN_HEAP_GROWTH_PERCENT,
            MAX_HEAP_GROWTH_PERCENT,
            `an integer from ${MIN_HEAP_GROWTH_PERCENT} to ${MAX_HEAP_GROWTH_PERCENT} (percent)`,
          ).default(CONFIG_DEFAULTS.heapGrowthPercent),
        },
        expecting('a mapping with heapGrowthPercent'),
      )
      .prefault({}),
    /** Image bits over the peer network (agent/blobs): the store's bound and this site's rate caps. */
    blobs: z
      .strictObject(
        {
          maxBytes: positiveInteger().default(CONFIG_DEFAULTS.blobMaxBytes),
          /** Bytes per second this site serves to members, in total (absent: no cap). */
          uploadBytesPerSecond: positiveInteger().optional(),
          /** Bytes per second this site fetches from members, in total (absent: no cap). */
          downloadBytesPerSecond: positiveInteger().optional(),
        },
        expecting('a mapping with maxBytes, uploadBytesPerSecond, downloadBytesPerSecond'),
      )
      .prefault({}),
  },
  expecting('a mapping of configuration fields'),
);

/** The validated configuration, defaults filled in. */
export type AgentConfig = z.output<typeof agentConfigSchema>;
export type CloudConfig = AgentConfig['cloud'];
