// Webhook delivery: tells an agent that the contexts of a session version are ready. Signed with HMAC-SHA256 over
// `<timestamp>.<body>` under the agent's secret (header `X-Context-Signature: t=<unix seconds>,v1=<hex>`), so a
// receiver can check origin and freshness. A non-2xx answer or a network error throws, and the queue retries with
// backoff (Cloudflare Queues on Workers, the bounded in-process retry on Node).
import { sql } from 'drizzle-orm';
import { hmacSha256Hex } from '../crypto.js';
import type { Deps, WebhookJob } from '../ports.js';
import type { JobResult } from './compaction.js';

const TIMEOUT_MS = 10_000;

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
