// The admin API of disaster recovery: POST /v1/protection-groups/:id/:action (failover, failback,
// test-failover, test-cleanup). The group is read through ReadIndex first, so the op names the
// epoch and sites the leader's log has now, and the leader checks liveness for exactly those sites.
import { DR_OPERATOR_ACTIONS, type DrOperatorAction } from '../catalog/dr-types.js';
import { AdminHttpError, errorOfReadRefusal } from './http-errors.js';
import { RequestInvalid, controlsRequest } from './requests.js';
import type { JsonObject, WriteOp, WriteOptions } from './service.js';

export interface DrActionRequest {
  id: string;
  action: DrOperatorAction;
  options: WriteOptions;
}

export function drActionRequest(id: string, actionText: string, body: unknown): DrActionRequest {
  const action = DR_OPERATOR_ACTIONS.find((a) => a === actionText);
  if (action === undefined) {
    throw new AdminHttpError('NOT_FOUND', `unknown protection-group action ${JSON.stringify(actionText)} (known: ${DR_OPERATOR_ACTIONS.join(', ')})`, { field: 'action' }, 'invalid_path');
  }
  const options = controlsRequest(body);
  if (options.force && action !== 'failover') {
    throw new RequestInvalid([{ field: 'force', message: `only a failover may be forced (an unplanned failover away from a lost primary), not ${action}` }]);
  }
  return { id, action, options };
}

/** The dr op for the group as the leader's log has it now (a linearizable read). */
export function drOpFor(request: DrActionRequest, group: { spec: JsonObject } | null, readRefused: Parameters<typeof errorOfReadRefusal>[0] | null): WriteOp {
  if (readRefused !== null) throw errorOfReadRefusal(readRefused);
  if (group === null) throw new AdminHttpError('NOT_FOUND', `protection-group ${JSON.stringify(request.id)} not found`, { kind: 'protection-group', id: request.id });
  const spec = group.spec;
  const epoch = typeof spec.failoverEpoch === 'number' ? spec.failoverEpoch : 0;
  const primary = String(spec.primarySite);
  const secondary = String(spec.secondarySite);
  const sites = request.action === 'failover' || request.action === 'failback' ? { from: primary, to: secondary } : { site: secondary };
  return { op: 'dr', kind: 'protection-group', id: request.id, action: request.action, epoch, ...sites };
}
