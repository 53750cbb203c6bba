// `stackraft site add NAME --token`: registers the site as waiting to join (its record, through the
// log, has no peer id yet, and `join` holds the expiry and the SHA-256 of a one-time secret drawn
// here), then prints the join token. The joining site brings its own key; the redemption records its
// peer id and adds it as a learner (join-door.ts).
import type { ResourceView, StatusView } from '../admin/service.js';
import type { CommandContext } from '../cli/command.js';
import { UsageError } from '../cli/errors.js';
import { listKind, type WriteResult } from '../cli/resources.js';
import { DEFAULT_JOIN_TTL_MS, encodeJoinToken, joinSecretHash, MAX_JOIN_TTL_MS, MAX_TOKEN_MEMBERS, newJoinSecret, parseTtl } from './join-token.js';

export async function addSiteWithToken(ctx: CommandContext, addrs: string[], place: { region: string; country: string; labels: Record<string, string> }): Promise<void> {
  const command = ctx.command.words.join(' ');
  if (ctx.has('peer-id')) throw new UsageError('with --token the joining site makes its own key: leave out --peer-id', command);
  if (addrs.some((a) => a.includes('/p2p/'))) throw new UsageError('with --token, give --addr without /p2p/ (the joining site makes its own key)', command);
  const ttlText = ctx.str('ttl');
  const ttlMs = ttlText === undefined ? DEFAULT_JOIN_TTL_MS : parseTtl(ttlText);
  if (ttlMs === null || ttlMs <= 0 || ttlMs > MAX_JOIN_TTL_MS) throw new UsageError(`--ttl: expected a duration such as 30m or 2h, at most 7d, got ${JSON.stringify(ttlText)}`, command);
  const name = ctx.positionals[0];
  const secret = newJoinSecret();
  const expiresAt = Date.now() + ttlMs;
  const client = ctx.client();
  await client.write<WriteResult>('POST', '/v1/sites', { name, addrs, ...place, join: { expiresAt, secretHash: joinSecretHash(secret) } });
  const status = await client.get<StatusView>('/v1/status');
  const { items } = await listKind(ctx, 'site');
  const token = encodeJoinToken({
    clusterId: status.clusterId,
    incarnation: status.incarnation ?? '',
    site: name,
    ...place,
    addrs,
    members: membersToDial(items, name),
    secret,
    expiresAt,
  });
  ctx.io.stdout.write(`${token}\n`);
  ctx.io.stderr.write(
    `\nSite ${name} is registered, waiting to join. On the new site, before ${new Date(expiresAt).toISOString()} (the log's time), run:\n` +
      '  stackraft init --join <the token above> [--config /etc/stackraft/agent.yaml]\n' +
      'then start its agent: it makes its own key and redeems the token, once. Pass the token like a password until then.\n',
  );
}

function membersToDial(sites: ResourceView[], newSite: string): Array<{ site: string; addr: string }> {
  const out: Array<{ site: string; addr: string }> = [];
  for (const site of sites) {
    const peerId = String(site.spec.peerId ?? '');
    const first = Array.isArray(site.spec.addresses) ? site.spec.addresses.find((a): a is string => typeof a === 'string') : undefined;
    if (site.id === newSite || !first || !peerId) continue;
    out.push({ site: site.id, addr: first.includes('/p2p/') ? first : `${first}/p2p/${peerId}` });
  }
  return out.slice(0, MAX_TOKEN_MEMBERS);
}
