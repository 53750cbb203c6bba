// An action that is an HTTP endpoint: the request POSTed as JSON (header Idempotency-Key), a 2xx
// answer = done (its body, cut, as the message), anything else = failed. Bounded by the signal.
import { request as httpRequest } from 'undici';
import type { DrActionRequest, DrActionResult, DrActionRunner } from './action.js';
import { MAX_ACTION_OUTPUT_BYTES } from './exec-action.js';

export class HttpAction implements DrActionRunner {
  constructor(
    private readonly url: string,
    readonly timeoutMs?: number,
  ) {}

  async run(request: DrActionRequest, signal: AbortSignal): Promise<DrActionResult> {
    try {
      const response = await httpRequest(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': request.idempotencyKey },
        body: JSON.stringify(request),
        signal,
      });
      const text = (await response.body.text()).slice(0, MAX_ACTION_OUTPUT_BYTES).trim();
      if (response.statusCode >= 200 && response.statusCode < 300) return { ok: true, message: text };
      return { ok: false, message: `${this.url} answered HTTP ${response.statusCode}${text ? `: ${text}` : ''}` };
    } catch (error) {
      return { ok: false, message: `${this.url}: ${(error as Error).message}` };
    }
  }
}
