// Every admin-socket command of the CLI, in the order help lists them.
import type { CommandSpec } from '../command.js';
import { auditCommands } from './audit.js';
import { importCommands } from './import.js';
import { catalogCommands } from './catalog.js';
import { clusterCommands } from './cluster.js';
import { flavorCommands } from './flavor.js';
import { imageCommands } from './image.js';
import { protectionGroupCommands } from './protection-group.js';
import { quotaCommands } from './quota.js';
import { watchCommand } from './watch.js';
import { siteRotateKey } from './rotate-key.js';

export function allCommands(): CommandSpec[] {
  return [...clusterCommands, siteRotateKey, ...flavorCommands, ...imageCommands, ...quotaCommands, ...protectionGroupCommands, ...catalogCommands, watchCommand, ...auditCommands, ...importCommands];
}
