// stackraft site rotate-key: the agent behind the socket moves its site to a new key through the
// log (agent/recovery/key-rotation.ts); the command starts it and follows it to the end.
import type { KeyRotationView } from '../../admin/service.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { UsageError } from '../errors.js';

/** How often the command looks at the rotation while it waits. */
const POLL_MS = 250;
const DEFAULT_WAIT_S = 60;
const MAX_WAIT_S = 3600;

export const siteRotateKey: CommandSpec = {
  words: ['site', 'rotate-key'],
  summary: 'give this site a new key through the log, then retire the old one',
  positionals: { min: 0, max: 0 },
  options: {
    wait: { type: 'string', value: 'SECONDS', help: `how long to follow the rotation (default ${DEFAULT_WAIT_S}; 0: start it and return)` },
  },
  notes: [
    'Run it against the agent of the site whose key changes (its admin socket). The agent writes a new',
    'key beside the old one, announces its peer id through the log (every member then admits both),',
    'switches to it, and retires the old peer id through the log: from then on every member refuses it.',
    'Running it again while a rotation is under way reports the rotation; a crashed agent resumes it.',
  ].join('\n'),
  run: async (ctx) => {
    const waitS = waitSeconds(ctx);
    const client = ctx.client();
    let view = await client.post<KeyRotationView>('/v1/site/rotate-key', {});
    const from = view.peerId;
    ctx.io.stderr.write(`rotating the key of site ${view.site} (peer id ${from}${view.nextPeerId ? ` -> ${view.nextPeerId}` : ''}): ${view.stage}\n`);
    const deadline = Date.now() + waitS * 1000;
    let lastStage = view.stage;
    while (view.stage !== 'idle' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      view = await client.get<KeyRotationView>('/v1/site/rotate-key');
      if (view.stage !== lastStage) ctx.io.stderr.write(`  ${view.stage}${view.message ? `: ${view.message}` : ''}\n`);
      lastStage = view.stage;
    }
    if (view.stage !== 'idle') {
      if (waitS > 0) ctx.io.stderr.write(`the rotation is still ${view.stage} after ${waitS}s (${view.message || 'no message'}); it goes on in the agent: see \`stackraft site rotate-key --wait 0\` or the agent's log\n`);
      ctx.io.stdout.write(`${JSON.stringify(view)}\n`);
      return waitS > 0 ? 1 : 0;
    }
    ctx.io.stdout.write(`site ${view.site} now has peer id ${view.peerId}; the old peer id ${from} is retired\n`);
    return 0;
  },
};

function waitSeconds(ctx: CommandContext): number {
  const text = ctx.str('wait');
  if (text === undefined) return DEFAULT_WAIT_S;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > MAX_WAIT_S) throw new UsageError(`--wait: expected whole seconds from 0 to ${MAX_WAIT_S}, got ${JSON.stringify(text)}`, ctx.command.words.join(' '));
  return value;
}
