// The human message in an OpenStack error body. Each service has its own shape:
//   Keystone  {"error": {"code": 401, "title": "...", "message": "..."}}
//   Nova, Cinder  {"itemNotFound": {"code": 404, "message": "..."}} (the key names the fault)
//   Glance    {"message": "...<br /><br />\n", "code": "409 Conflict", "title": "Conflict"}
//   Neutron   {"NeutronError": {"type": "...", "message": "...", "detail": ""}}
// and anything may come back as HTML from a proxy (or from Glance without Accept: application/json).

/** Longest message kept (error texts end up in logs and sync-status reports). */
export const MAX_CLOUD_MESSAGE_CHARS = 500;

function clean(text: string): string {
  const plain = text
    .replace(/<br\s*\/?>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length > MAX_CLOUD_MESSAGE_CHARS ? `${plain.slice(0, MAX_CLOUD_MESSAGE_CHARS - 1)}…` : plain;
}

function messageOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.message === 'string') return v.message;
  if (typeof v.detail === 'string' && v.detail !== '') return v.detail;
  return undefined;
}

export function parseErrorBody(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '') return '';
  if (trimmed.startsWith('{')) {
    try {
      const body = JSON.parse(trimmed) as unknown;
      const top = messageOf(body);
      if (top !== undefined) return clean(top);
      if (typeof body === 'object' && body !== null) {
        for (const inner of Object.values(body as Record<string, unknown>)) {
          const m = messageOf(inner);
          if (m !== undefined) return clean(m);
        }
      }
    } catch {
      // Not JSON after all: fall through to text.
    }
  }
  if (/<html|<body|<h1/i.test(trimmed)) {
    // Drop the <head> (its <title> repeats the status line).
    return clean(trimmed.replace(/<head[\s\S]*?<\/head>/i, '').replace(/<h1>[\s\S]*?<\/h1>/i, ''));
  }
  return clean(trimmed);
}
