// A stranger (a site that is not a member yet) gets the join exchange and nothing else: the gater
// admits it as a guest, a bounded number at a time and for a bounded time, counted; its Raft frames
// are refused as from a non-member, and a protocol served to members only aborts its streams.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { JOIN_GUEST_TTL_MS, JoinGuests, MAX_JOIN_GUESTS } from '../../agent/transport/join-guests.js';
import { heartbeat, memberOf, sleep, startSite, stopSites, waitFor, type Site } from './helpers.js';

const JOIN_TEST_PROTOCOL = '/stackraft/test-join/1.0.0';
const MEMBERS_ONLY_PROTOCOL = '/stackraft/test-members/1.0.0';

describe('join guests', () => {
  it('admits at most MAX_JOIN_GUESTS strangers, each for JOIN_GUEST_TTL_MS, and counts them', () => {
    let now = 0;
    const guests = new JoinGuests(() => now);
    assert.equal(guests.admit('early'), false, 'the door starts closed');
    guests.setOpen(true);
    for (let i = 0; i < MAX_JOIN_GUESTS; i++) assert.equal(guests.admit(`peer-${i}`), true);
    assert.equal(guests.admit('one-too-many'), false);
    assert.equal(guests.admit('peer-0'), true, 'a guest keeps its place while its time runs');
    assert.equal(guests.admissions, MAX_JOIN_GUESTS);
    now = JOIN_GUEST_TTL_MS;
    assert.equal(guests.isGuest('peer-0'), false);
    assert.equal(guests.admit('peer-0'), false, 'a guest past its time is refused until it is swept');
    assert.equal(guests.takeExpired().length, MAX_JOIN_GUESTS);
    guests.setOpen(true);
    assert.equal(guests.admit('one-too-many'), true);
    guests.revoke('removed-member');
    assert.equal(guests.admit('removed-member'), false, 'a removed or retired peer id is never a guest');
    guests.setOpen(false);
    assert.equal(guests.admit('another'), false, 'the door is closed');
  });

  describe('on real connections', () => {
    let member: Site | undefined;
    let stranger: Site | undefined;
    after(() => stopSites([member, stranger]));

    it('a stranger reaches a guest protocol, but not the Raft stream or a members-only protocol', { timeout: 30_000 }, async () => {
      member = await startSite('member');
      stranger = await startSite('stranger');
      // The stranger knows the member (as a joining site knows its seed peers); the member does not know it.
      stranger.transport.setMembers([memberOf(member)]);
      member.transport.setJoinDoorOpen(true);
      const served: string[] = [];
      await member.transport.handleProtocol(JOIN_TEST_PROTOCOL, 2, (stream, peerId) => {
        served.push(peerId);
        stream.abort(new Error('done'));
      }, { guests: true });
      await member.transport.handleProtocol(MEMBERS_ONLY_PROTOCOL, 2, () => served.push('members-only'));

      const controller = new AbortController();
      await stranger.transport.dialMember('member', JOIN_TEST_PROTOCOL, controller.signal);
      await waitFor('the guest protocol to serve the stranger', () => served.length === 1);
      assert.deepEqual(served, [stranger.transport.peerId]);
      assert.equal(member.transport.guests.admissions, 1);

      const before = member.transport.counters.badFrames.nonMember;
      await stranger.transport.dialMember('member', MEMBERS_ONLY_PROTOCOL, controller.signal).catch(() => undefined);
      for (let i = 0; i < 5; i++) stranger.transport.send('member', heartbeat('stranger', 'member', i));
      await waitFor('the member to refuse the stranger\'s frames and members-only stream', () => member!.transport.counters.badFrames.nonMember >= before + 2);
      await sleep(200);
      assert.deepEqual(served, [stranger.transport.peerId], 'the members-only protocol never ran for the stranger');
      assert.equal(member.received.length, 0, 'no frame of the stranger was delivered');
    });
  });
});
