// Webhook delivery: tells an agent that the contexts of a session version are ready. Signed with HMAC-SHA256 over
// `<timestamp>.<body>` under the agent's secret (header `X-Context-Signature: t=<unix seconds>,v1=<hex>`), so a
// receiver can check origin and freshness. A non-2xx answer or a network error throws, and the queue retries with
// backoff (Cloudflare Queues on Workers, the bounded in-process retry on Node).
import { sql } from 'drizzle-orm';
import { hmacSha256Hex } from '../crypto.js';
import type { Deps, WebhookJob } from '../ports.js';
import type { JobResult } from './compaction.js';

const TIMEOUT_MS = 10_000;

/**
 * Loopback, private, link-local and shared-address hosts (as literals or `localhost`): refused as webhook targets
 * unless CONTEXT_WEBHOOK_ALLOW_PRIVATE is set, so a tenant cannot make the service call into its own network.
 */
export function isPrivateHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost') || h === '') return true;
  const v4 = h.match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || a >= 224;
  }
  if (h.includes(':')) {
    if (h === '::' || h === '::1') return true;
    if (/^f[cd]/.test(h) || /^fe[89ab]/.test(h)) return true;
    const mapped = h.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/);
    if (mapped) return isPrivateHost(mapped[1]!);
    return h.startsWith('::ffff:');
  }
  return false;
}

export function webhookTargetAllowed(url: string, allowPrivate: boolean): boolean {
  return allowPrivate || !isPrivateHost(new URL(url).hostname);
}

export async function signWebhook(secret: string, body: string, timestamp: number): Promise<string> {
  return `t=${timestamp},v1=${await hmacSha256Hex(secret, `${timestamp}.${body}`)}`;
}

/** For receivers: true when `header` signs `body` under `secret` and is at most `toleranceSeconds` old. */
export async function verifyWebhook(secret: string, header: string, body: string, toleranceSeconds = 300, now = Date.now()): Promise<boolean> {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1 || Math.abs(now / 1000 - t) > toleranceSeconds) return false;
  const expected = await hmacSha256Hex(secret, `${t}.${body}`);
  if (expected.length !== parts.v1.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ parts.v1.charCodeAt(i);
  return diff === 0;
}

export async function deliverWebhook(deps: Deps, job: WebhookJob): Promise<JobResult> {
  const [agent] = await deps.store.query<{ url: string | null; secret: string | null }>(sql`
    SELECT config -> 'webhook' ->> 'url' AS url, config -> 'webhook' ->> 'secret' AS secret
    FROM agents WHERE tenant_id = ${job.tenant_id} AND id = ${job.agent_id}`);
  if (!agent?.url || !agent.secret) return { status: 'skipped', reason: 'agent has no webhook' };
  if (!webhookTargetAllowed(agent.url, deps.env.CONTEXT_WEBHOOK_ALLOW_PRIVATE))
    return { status: 'skipped', reason: 'webhook host is in a private network' };
  const body = JSON.stringify({
    type: 'context.precomputed',
    delivery_id: job.job_id,
    agent_id: job.agent_id,
    session_id: job.session_id,
    session_version: job.session_version,
    model_calls: job.model_calls,
  });
  const timestamp = Math.floor(Date.now() / 1000);
  const res = await fetch(agent.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-context-event': 'context.precomputed',
      'x-context-delivery': job.job_id,
      'x-context-signature': await signWebhook(agent.secret, body, timestamp),
    },
    body,
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  // Drain the body so the connection can be reused.
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`webhook answered ${res.status}`);
  return { status: 'delivered', reason: `webhook answered ${res.status}`, session_version: job.session_version };
}
