// Webhook delivery: a note that a session version's contexts are ready, signed as Standard Webhooks sign; a failure
// throws for the queue's retry. Targets must be public unicast addresses, redirects are not followed (docs/security.md).
import ipaddr from 'ipaddr.js';
import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { hmacSha256Hex } from '../crypto.js';
import type { JobResult } from '../jobs/schema.js';
import type { Deps, HostResolver, WebhookJob } from '../ports.js';
import { isStandardSecret } from '../schemas/flows.js';

const TIMEOUT_MS = 10_000;
/** At registration a slow resolver must not hold the request: past this the name is checked again at delivery. */
const REGISTRATION_RESOLVE_MS = 3_000;

/** Suffixes of names that only resolve inside a network (and `metadata.google.internal`). */
const INTERNAL_SUFFIXES = ['localhost', 'local', 'internal', 'localdomain', 'home.arpa'];
const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');
const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');

/**
 * True for an address a webhook may reach: public unicast IPv4, or global unicast IPv6 (2000::/3 outside every
 * special range). IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4) are judged by that address.
 */
export function isPublicAddress(address: string): boolean {
  // IPv4-compatible (::a.b.c.d) is deprecated and outside 2000::/3; ipaddr.js would read this form as IPv4-mapped.
  if (!ipaddr.isValid(address) || /^::\d+\.\d+\.\d+\.\d+$/.test(address)) return false;
  const ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv4') return ip.range() === 'unicast';
  const v6 = ip as ipaddr.IPv6;
  const embedded = embeddedIPv4(v6);
  if (embedded) return embedded.range() === 'unicast';
  return v6.range() === 'unicast' && v6.match(GLOBAL_UNICAST);
}

function embeddedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const b = ip.toByteArray();
  if (ip.range() === 'ipv4Mapped') return ip.toIPv4Address();
  if (ip.match(NAT64)) return new ipaddr.IPv4(b.slice(12, 16));
  if (ip.range() === '6to4') return new ipaddr.IPv4(b.slice(2, 6));
  return undefined;
}

/**
 * What is wrong with `hostname` as a webhook host without resolving it: a literal that is not a public address,
 * or a name that only means something inside a network. Undefined when nothing is. `hostname` is as `URL` gives it.
 */
export function hostProblem(hostname: string): string | undefined {
  const h = hostname.toLowerCase();
  const address = literalAddress(h);
  if (address !== undefined) return isPublicAddress(address) ? undefined : 'not a public address';
  if (h === '' || h.endsWith('.')) return 'not a plain host name';
  // A single label resolves through search domains and the hosts file: the machine's own name, `metadata`, …
  if (!h.includes('.')) return 'a single-label name';
  if (INTERNAL_SUFFIXES.some((s) => h === s || h.endsWith(`.${s}`))) return 'an internal name';
  return undefined;
}

/** The address in a `URL` hostname that is an IP literal (IPv6 in brackets; `URL` writes IPv4 as four decimals). */
function literalAddress(hostname: string): string | undefined {
  if (hostname.startsWith('[') && hostname.endsWith(']')) return hostname.slice(1, -1);
  return ipaddr.IPv4.isValidFourPartDecimal(hostname) ? hostname : undefined;
}

type Resolved = Awaited<ReturnType<HostResolver>>;
type Vetted = { ok: true; addresses?: Resolved } | { ok: false; reason: string };

/**
 * Checks a webhook URL and, where a resolver is available, every address its name resolves to. `addresses` are
 * the ones to connect to (absent for a literal, or where nothing resolves names). A failed resolution throws.
 */
async function vetTarget(url: URL, allowPrivate: boolean, resolve: HostResolver | undefined): Promise<Vetted> {
  if (!allowPrivate) {
    const problem = hostProblem(url.hostname);
    if (problem) return { ok: false, reason: `webhook host is ${problem}` };
  }
  if (!resolve || literalAddress(url.hostname) !== undefined) return { ok: true };
  const addresses = await resolve(url.hostname);
  if (addresses.length === 0) throw new Error('webhook host did not resolve');
  if (!allowPrivate && !addresses.every((a) => isPublicAddress(a.address)))
    return { ok: false, reason: 'webhook host resolves to a non-public address' };
  return { ok: true, addresses };
}

/**
 * For registration: the literal and name checks, and on Node the resolved addresses. A name that does not resolve
 * (yet), or not in time, is accepted; delivery checks it again.
 */
export async function webhookTargetVetted(
  url: string,
  allowPrivate: boolean,
  resolve: HostResolver | undefined = systemResolver(),
): Promise<boolean> {
  if (allowPrivate) return true;
  const bounded: HostResolver | undefined =
    resolve &&
    ((host) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('resolution timed out')), REGISTRATION_RESOLVE_MS);
      });
      return Promise.race([resolve(host), late]).finally(() => clearTimeout(timer));
    });
  const target = new URL(url);
  try {
    return (await vetTarget(target, false, bounded)).ok;
  } catch {
    return true;
  }
}

/**
 * The signing key of a stored secret: a `whsec_` secret's bytes, or the UTF-8 bytes of a plain-text secret registered
 * before secrets took that form (receivers verify those with `whsec_` + the base64 of the same text).
 */
export function webhookKey(secret: string): Uint8Array {
  if (isStandardSecret(secret)) return Uint8Array.from(atob(secret.slice('whsec_'.length)), (c) => c.charCodeAt(0));
  return new TextEncoder().encode(secret);
}

/** The Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`) of one delivery. */
export function webhookHeaders(secret: string, id: string, body: string, at: Date): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(webhookKey(secret), { format: 'raw' }).sign(id, at, body),
  };
}

/**
 * The signature header of deliveries before Standard Webhooks, still sent for a plain-text secret so that receivers
 * checking it keep working while they move to a Standard Webhooks library: `t=<seconds>,v1=<hex HMAC-SHA256>`.
 */
async function legacySignature(secret: string, body: string, timestamp: number): Promise<string> {
  return `t=${timestamp},v1=${await hmacSha256Hex(secret, `${timestamp}.${body}`)}`;
}

export async function deliverWebhook(deps: Deps, job: WebhookJob): Promise<JobResult> {
  const [agent] = await deps.store.query<{ url: string | null; secret: string | null }>(sql`
    SELECT config -> 'webhook' ->> 'url' AS url, config -> 'webhook' ->> 'secret' AS secret
    FROM agents WHERE tenant_id = ${job.tenant_id} AND id = ${job.agent_id}`);
  if (!agent?.url || !agent.secret) return { status: 'skipped', reason: 'agent has no webhook' };
  const url = new URL(agent.url);
  const target = await vetTarget(url, deps.env.CONTEXT_WEBHOOK_ALLOW_PRIVATE, deps.resolveHost ?? systemResolver());
  if (!target.ok) {
    // The reason only: the URL is the tenant's own string.
    const { tenant_id, agent_id } = job;
    deps.logger.warn('webhook target refused', { tenant_id, agent_id, reason: target.reason });
    return { status: 'skipped', reason: target.reason };
  }
  const body = JSON.stringify({
    type: 'context.precomputed',
    delivery_id: job.job_id,
    agent_id: job.agent_id,
    session_id: job.session_id,
    session_version: job.session_version,
    model_calls: job.model_calls,
  });
  // The job id is the delivery's id: a retry of the job sends the same one, so receivers can drop repeats.
  const signed = webhookHeaders(agent.secret, job.job_id, body, new Date());
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-context-event': 'context.precomputed',
    ...signed,
  };
  if (!isStandardSecret(agent.secret))
    headers['x-context-signature'] = await legacySignature(agent.secret, body, Number(signed['webhook-timestamp']));
  const http = nodeBuiltin<NodeHttp>(url.protocol === 'https:' ? 'node:https' : 'node:http');
  const status = http
    ? await postPinned(http, url, target.addresses, headers, body)
    : await postFetch(url, headers, body);
  if (status >= 300 && status < 400) throw new Error(`webhook answered ${status}; redirects are not followed`);
  if (status < 200 || status > 299) throw new Error(`webhook answered ${status}`);
  return { status: 'delivered', reason: `webhook answered ${status}`, session_version: job.session_version };
}

/** Workers: the runtime's fetch, never following a redirect. */
async function postFetch(url: URL, headers: Record<string, string>, body: string): Promise<number> {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal });
  // Drain the body so the connection can be reused.
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
}

/**
 * Node: one request whose socket may only connect to the vetted `addresses` (its `lookup` answers with them and
 * asks no resolver), so the name cannot be re-pointed between the check and the connect. node:http never follows
 * redirects. A literal host has no `addresses` and is connected to as it is.
 */
function postPinned(
  http: NodeHttp,
  url: URL,
  addresses: Resolved | undefined,
  headers: Record<string, string>,
  body: string,
): Promise<number> {
  const bytes = new TextEncoder().encode(body);
  const pinned =
    addresses &&
    ((_host: string, opts: { all?: boolean } | undefined, done: (...a: unknown[]) => void) =>
      opts?.all ? done(null, addresses) : done(null, addresses[0]!.address, addresses[0]!.family));
  return new Promise<number>((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(bytes.byteLength) },
        ...(pinned && { lookup: pinned }),
        agent: false,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      },
      (res) => {
        // The status is all a delivery needs: the answer's body is not read.
        resolve(res.statusCode ?? 0);
        res.destroy();
      },
    );
    req.on('error', reject);
    req.end(bytes);
  });
}

// What is used of node:dns and node:http(s), typed here: the Worker program has no Node types.
interface NodeDns {
  promises: { lookup(host: string, opts: { all: true }): Promise<Resolved> };
}
interface NodeHttp {
  request(
    url: URL,
    opts: object,
    onResponse: (res: { statusCode?: number; destroy(): void }) => void,
  ): {
    on(event: 'error', listener: (err: Error) => void): unknown;
    end(body: Uint8Array): void;
  };
}

/** A Node built-in module, reached without an import so the Worker bundle (no Node compatibility) never holds one. */
function nodeBuiltin<T>(id: string): T | undefined {
  const g = globalThis as unknown as {
    navigator?: { userAgent?: string };
    process?: { getBuiltinModule?: (id: string) => unknown };
  };
  if (g.navigator?.userAgent === 'Cloudflare-Workers') return undefined;
  return g.process?.getBuiltinModule?.(id) as T | undefined;
}

/** The system resolver (node:dns `lookup`, which reads the hosts file too) on Node; none on Workers. */
function systemResolver(): HostResolver | undefined {
  const dns = nodeBuiltin<NodeDns>('node:dns');
  return dns && ((host) => dns.promises.lookup(host, { all: true }));
}
