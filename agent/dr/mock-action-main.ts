// `stackraft dr-action-mock --record FILE`: the reference DR action (an exec action, see
// agent/dr/action.ts for the contract), for the mock clouds of the dev cluster and the tests. It
// reads the step from stdin and appends to FILE, once per idempotency key, what a real engine would
// do on this site's cloud: for promote and test-start, the servers it would boot from the replicated
// volumes with the group's flavor, network and security-group mappings; for demote and
// test-cleanup, the servers it would stop or delete. A key already in FILE is answered done again
// without a second record (an action must be idempotent). `--fail-attempts N` fails the first N
// attempts of each step (to see retries).
import { appendFile, readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

interface Step {
  idempotencyKey: string;
  group: string;
  epoch: number;
  step: string;
  kind: string;
  site: string;
  attempt: number;
  spec: { project: string; volumeType: string; members: string[]; mappings: { networks: Record<string, string>; flavors: Record<string, string>; securityGroups: Record<string, string> } };
}

/** Largest step document read from stdin. */
const MAX_INPUT_BYTES = 4 * 1024 * 1024;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { record: { type: 'string' }, 'fail-attempts': { type: 'string' } }, strict: true });
  if (values.record === undefined) {
    process.stderr.write('usage: stackraft dr-action-mock --record FILE [--fail-attempts N]  (the step as JSON on stdin)\n');
    return 2;
  }
  const step = parseStep(await readStdin());
  if (typeof step === 'string') {
    process.stderr.write(`dr-action-mock: ${step}\n`);
    return 2;
  }
  if (step.attempt <= Number(values['fail-attempts'] ?? 0)) {
    process.stderr.write(`dr-action-mock: attempt ${step.attempt} of ${step.idempotencyKey} fails on purpose (--fail-attempts)\n`);
    return 1;
  }
  const recorded = await readFile(values.record, 'utf8').catch(() => '');
  if (recorded.split('\n').some((line) => line !== '' && (JSON.parse(line) as { key: string }).key === step.idempotencyKey)) {
    process.stdout.write(`already done (${step.idempotencyKey})\n`);
    return 0;
  }
  const servers = serversOf(step);
  await appendFile(values.record, `${JSON.stringify({ key: step.idempotencyKey, site: step.site, kind: step.kind, group: step.group, epoch: step.epoch, servers })}\n`);
  process.stdout.write(`${step.kind}: ${servers.length} server(s) on ${step.site}\n`);
  return 0;
}

function serversOf(step: Step): Array<Record<string, unknown>> {
  const { spec } = step;
  const starts = step.kind === 'promote' || step.kind === 'test-start';
  return spec.members.map((server) => ({
    server,
    action: starts ? 'boot' : 'stop',
    ...(starts
      ? {
          name: step.kind === 'test-start' ? `${step.group}-test-${server.slice(0, 8)}` : `${step.group}-${server.slice(0, 8)}`,
          project: spec.project,
          bootVolumeType: spec.volumeType,
          networks: Object.values(spec.mappings.networks).sort(),
          flavors: Object.values(spec.mappings.flavors).sort(),
          securityGroups: Object.values(spec.mappings.securityGroups).sort(),
        }
      : {}),
  }));
}

function parseStep(text: string): Step | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'stdin is not a JSON document';
  }
  const step = value as Partial<Step> | null;
  if (step === null || typeof step !== 'object' || typeof step.idempotencyKey !== 'string' || typeof step.kind !== 'string' || typeof step.attempt !== 'number' || typeof step.spec !== 'object' || !Array.isArray(step.spec?.members)) {
    return 'stdin is not a DR step (idempotencyKey, kind, attempt, spec.members expected)';
  }
  return step as Step;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_INPUT_BYTES) break;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
