// A catalog with a few resources of every kind, built through real commands: the starting state of
// the snapshot and command targets.
import { Catalog } from '../../../agent/catalog/catalog.js';
import { encodeCommand, writeCommand } from '../../../agent/catalog/command.js';
import { EntryType } from '../../../consensus/types.js';
import { Harness, PROJECT, flavorSpec, imageSpec, protectionGroupSpec, quotaSpec } from '../../catalog/helpers.js';

export function populatedCatalog(): Harness {
  const h = new Harness(new Catalog());
  h.addTwoSites();
  const result = h.write(
    { op: 'put', kind: 'flavor', id: 'm1.small', spec: flavorSpec() },
    { op: 'put', kind: 'image', id: '3f2a6c1e-8d4b-4c2a-9e1f-0a1b2c3d4e5f', spec: imageSpec() },
    { op: 'put', kind: 'quota', id: PROJECT, spec: quotaSpec() },
    { op: 'put', kind: 'protection-group', id: 'pg1', spec: protectionGroupSpec() },
  ).result;
  if (!result.ok) throw new Error(`catalog fixture refused: ${JSON.stringify(result)}`);
  return h;
}

/** Encoded write commands the command target mutates. */
export function sampleCommands(): Uint8Array[] {
  const envelope = { clientId: 'fuzz', seq: 1, time: 1_700_000_000_000 };
  return [
    encodeCommand(writeCommand(envelope, [{ op: 'put', kind: 'flavor', id: 'm1.large', spec: flavorSpec({ name: 'm1.large', vcpus: 4 }) }])),
    encodeCommand(writeCommand(envelope, [{ op: 'patch', kind: 'quota', id: PROJECT, spec: { compute: { cores: 8 } } }])),
    encodeCommand(writeCommand({ ...envelope, seq: 2 }, [{ op: 'delete', kind: 'flavor', id: 'm1.small' }, { op: 'put', kind: 'image', id: '3f2a6c1e-8d4b-4c2a-9e1f-0a1b2c3d4e5f', spec: imageSpec({ tags: ['a'] }) }])),
  ];
}

export const NORMAL = EntryType.Normal;
