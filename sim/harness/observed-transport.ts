// A Transport that passes everything through and tells the harness which log entries a site sends
// (appends, its own or relayed): with its store writes, the leader's first act on an entry, which
// starts a commit-latency sample (commit-latency.ts).
import type { Transport } from '../../consensus/ports.js';
import type { Entry } from '../../consensus/types.js';

export function observeSentEntries(inner: Transport, onSent: (term: number, entries: readonly Entry[]) => void): Transport {
  const observed: Transport = {
    send: (to, message) => {
      if (message.kind === 'raft' && message.msg.type === 'append' && message.msg.entries && message.msg.entries.length > 0) {
        onSent(message.msg.term, message.msg.entries);
      }
      inner.send(to, message);
    },
    onMessage: (handler) => inner.onMessage(handler),
    onUnreachable: (handler) => inner.onUnreachable(handler),
  };
  if (inner.linkDown) observed.linkDown = (member) => inner.linkDown!(member);
  return observed;
}
