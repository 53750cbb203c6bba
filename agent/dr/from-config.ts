// The DR action agent.yaml names (dr.action), built once at start.
import type { AgentConfig } from '../config/schema.js';
import type { DrActionRunner } from './action.js';
import { ExecAction } from './exec-action.js';
import { HttpAction } from './http-action.js';

export function drActionFromConfig(action: NonNullable<AgentConfig['dr']['action']>): DrActionRunner {
  return action.type === 'exec' ? new ExecAction(action.command, action.timeoutMs) : new HttpAction(action.url, action.timeoutMs);
}
