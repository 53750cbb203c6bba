// agent.yaml through the real parser and schema (parseConfig): YAML syntax, the strict schema,
// every field's rule. The agent refuses to start on a bad file and names the field: here every
// refusal must be a ConfigError, never another exception.
import { parse as parseYaml } from 'yaml';
import { ConfigError, parseConfig } from '../../../agent/config/load.js';
import { agentConfigSchema } from '../../../agent/config/schema.js';
import type { Prng } from '../../../sim/prng.js';
import type { Mutator } from '../mutate.js';
import { accepted, rejected, text, utf8, type FuzzTarget, type Outcome } from '../target.js';
import { YAML_TOKENS, generateYaml } from './yaml-grammar.js';

const EXAMPLE = `site:
  name: eu-west-1
  region: eu-west
  country: IE
  labels:
    tier: gold
clusterId: acme-prod
dataDir: /var/lib/stackraft
listen:
  - /ip4/0.0.0.0/tcp/7420
announce:
  - /dns4/stackraft.eu-west-1.example.net/tcp/7420
peers:
  - site: us-east-1
    addr: /dns4/stackraft.us-east-1.example.net/tcp/7420/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA
adminSocket: /run/stackraft/admin.sock
cloud:
  type: openstack
  cloud: eu-west-1
  cloudsYaml: /etc/stackraft/clouds.yaml
  region: RegionOne
  interface: public
timing:
  tickMs: 50
  electionTimeoutTicks: 20
  heartbeatTicks: 2
voters: 5
log:
  level: info
metrics:
  listen: 127.0.0.1:9464
`;
const MINIMAL = `site: { name: a, region: r, country: de }\nclusterId: c\ncloud: { type: mock, url: "http://127.0.0.1:1" }\n`;
const exampleTree: unknown = parseYaml(EXAMPLE);
const TOP_LEVEL_FIELDS: ReadonlySet<string> = new Set(Object.keys(agentConfigSchema.shape));

function run(input: Uint8Array): Outcome {
  try {
    parseConfig(text(input), 'agent.yaml');
    return accepted();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const first = error.problems[0];
    const head = first?.field.split(/[.[]/)[0] ?? '';
    const kind = first === undefined ? 'empty-error' : first.message.startsWith('YAML syntax error') ? 'yaml-syntax' : head === '' ? 'document' : `field:${TOP_LEVEL_FIELDS.has(head) ? head : 'unknown'}`;
    return rejected(kind, `${first?.field ?? ''}: ${first?.message ?? ''}`);
  }
}

export const configTarget: FuzzTarget = {
  name: 'config',
  covers: 'agent/config: parseConfig (yaml parseDocument, agentConfigSchema, problem positions)',
  // Real files are a few KiB; the size limit itself is checked before parsing (tested in test/config).
  maxInputBytes: 8 * 1024,
  // Printing a deep tree as block YAML is quadratic; deep documents come from the flow-nesting generator.
  maxNesting: 300,
  dictionary: [...YAML_TOKENS, 'site:', 'clusterId:', 'peers:', 'timing:', 'tickMs:', 'cloud:', 'type: mock', 'type: openstack', '/ip4/', '/p2p/', '/dns4/'],
  seeds: () => [utf8(EXAMPLE), utf8(MINIMAL)],
  generate: (rng: Prng, m: Mutator) => utf8(generateYaml(exampleTree, rng, m)),
  run,
};
