// Refuses a RaftConfig that would make the core misbehave, naming the bad field.
import type { RaftConfig } from './api.js';

const POSITIVE_INTEGER_FIELDS = [
  'electionTimeoutTicks',
  'heartbeatTicks',
  'maxEntriesPerAppend',
  'maxBytesPerAppend',
  'maxInflightAppends',
  'snapshotChunkBytes',
  'maxUncommittedBytes',
] as const;

export function validateRaftConfig(config: RaftConfig): void {
  if (typeof config !== 'object' || config === null) throw new Error('raft config: expected an object');
  if (typeof config.id !== 'string' || config.id.length === 0) throw new Error('raft config: id must be a non-empty string');
  if (typeof config.random !== 'function') throw new Error('raft config: random must be a function returning [0, 1)');
  for (const name of POSITIVE_INTEGER_FIELDS) {
    const value = config[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new Error(`raft config: ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  if (config.heartbeatTicks >= config.electionTimeoutTicks) {
    throw new Error('raft config: heartbeatTicks must be smaller than electionTimeoutTicks');
  }
  const max = config.electionTimeoutMaxTicks;
  if (max !== undefined && (!Number.isInteger(max) || max <= config.electionTimeoutTicks)) {
    throw new Error(`raft config: electionTimeoutMaxTicks must be an integer above electionTimeoutTicks, got ${String(max)}`);
  }
}
