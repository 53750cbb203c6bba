// Who the CLI says is asking, and from where: sent with every write and kept in the audit ring.
// The name is self-declared (the admin socket's file mode is the access control, DESIGN.md "Audit
// trail"): --operator, else the person behind sudo, else the login user.
import { hostname, userInfo } from 'node:os';
import type { WriteAudit } from './client.js';
import type { CliIo } from './io.js';

export function operatorName(given: string | undefined, env: CliIo['env']): string | undefined {
  if (given !== undefined) return given;
  if (env.SUDO_USER) return env.SUDO_USER;
  try {
    return userInfo().username;
  } catch {
    // No passwd entry for this uid (a container): fall back to what the shell says.
    return env.USER ?? env.LOGNAME;
  }
}

export function writeAuditOf(values: Record<string, unknown>, io: CliIo): WriteAudit {
  const operator = operatorName(typeof values.operator === 'string' ? values.operator : undefined, io.env);
  const reason = typeof values.reason === 'string' ? values.reason : undefined;
  return { operator, host: hostname(), reason };
}
