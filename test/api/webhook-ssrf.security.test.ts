// Webhook targets cannot reach the service's own network: internal names and literals refused at registration and
// delivery, names judged by every resolved address (a DNS server on loopback), redirects not followed. PGlite only.
import { createSocket, type Socket } from 'node:dgram';
import { promises as dns } from 'node:dns';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { decode, encode, type Answer } from 'dns-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HostResolver, WebhookJob } from '../../src/ports.js';
import { deliverWebhook, isPublicAddress } from '../../src/services/webhooks.js';
import { backends, harness, tenant, type Client, type Harness } from '../helpers.js';

const SECRET = 'whsec-ssrf-0123456789abcdef';
const PUBLIC = '93.184.215.14';

/** What the local DNS server answers: name → addresses (A or AAAA by form). Anything else is NXDOMAIN. */
const zone: Record<string, string[]> = {
  '127.0.0.1.nip.io': ['127.0.0.1'],
  'localtest.me': ['127.0.0.1', '::1'],
  'rebound.example.com': ['127.0.0.1'],
  'mixed.example.com': [PUBLIC, '127.0.0.1'],
  'hooks.example.com': [PUBLIC],
  'only-here.example.com': ['127.0.0.1'],
};

/** A DNS server on loopback (node:dgram) answering A and AAAA questions from `zone`. */
async function startDns(): Promise<{ socket: Socket; server: string; queries: string[] }> {
  const socket = createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (msg, peer) => {
    const query = decode(msg);
    const q = query.questions![0]!;
    queries.push(`${q.type} ${q.name}`);
    const known = zone[q.name.toLowerCase()];
    const answers: Answer[] = (known ?? [])
      .filter((a) => (q.type === 'A' ? !a.includes(':') : q.type === 'AAAA' && a.includes(':')))
      .map((data) => ({ type: q.type as 'A' | 'AAAA', name: q.name, ttl: 0, data }));
    // rcode 3: NXDOMAIN.
    const flags = known ? 0 : 3;
    socket.send(encode({ type: 'response', id: query.id, flags, questions: [q], answers }), peer.port, peer.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { socket, server: `127.0.0.1:${socket.address().port}`, queries };
}

/** Asks the local DNS server through node:dns's own resolver; names it does not know go to the system resolver. */
function resolverFor(server: string): HostResolver {
  const resolver = new dns.Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([server]);
  return async (host) => {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
    const found = [
      ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 })) : []),
      ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 })) : []),
    ];
    return found.length > 0 ? found : dns.lookup(host, { all: true });
  };
}

/** An HTTP server on 127.0.0.1 that records each request and answers with `answer`. */
async function receiver(answer: (res: import('node:http').ServerResponse) => void = (res) => res.writeHead(200).end()) {
  const requests: { method?: string; url?: string; headers: IncomingHttpHeaders }[] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, headers: req.headers });
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { server, port, requests, close: () => new Promise((r) => server.close(r)) };
}

/** The bypasses of a literal-only check: each reaches this machine (or the cloud's) if nothing stops it. */
const bypasses = (port: number) => [
  `http://${hostname()}:${port}/hook`,
  `http://localhost.:${port}/hook`,
  'http://metadata.google.internal/computeMetadata/v1/',
  'http://198.18.0.1/hook',
  `http://[::127.0.0.1]:${port}/hook`,
  `http://127.0.0.1.nip.io:${port}/hook`,
  `http://localtest.me:${port}/hook`,
];

describe('webhook targets cannot reach the service network', () => {
  let h: Harness;
  let c: Client;
  let dnsServer: Awaited<ReturnType<typeof startDns>>;
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    dnsServer = await startDns();
    h = await harness(backends[0].open);
    h.deps.resolveHost = resolverFor(dnsServer.server);
    c = await tenant(h);
  });
  afterEach(async () => {
    h.deps.env.CONTEXT_WEBHOOK_ALLOW_PRIVATE = false;
    await Promise.all(closers.splice(0).map((close) => close()));
  });
  afterAll(async () => {
    await h.close();
    dnsServer.socket.close();
  });

  const register = (agentId: string, url: string) =>
    c.call('POST', '/v1/agents', { agent_id: agentId, config: { webhook: { url, secret: SECRET } } });

  /** Stores the agent as if registered while private targets were allowed, then delivers with them refused. */
  async function deliverTo(agentId: string, url: string, allowPrivateAtDelivery = false) {
    h.deps.env.CONTEXT_WEBHOOK_ALLOW_PRIVATE = true;
    expect((await register(agentId, url)).status).toBe(201);
    h.deps.env.CONTEXT_WEBHOOK_ALLOW_PRIVATE = allowPrivateAtDelivery;
    const job: WebhookJob = {
      kind: 'webhook',
      tenant_id: c.tenantId,
      session_id: 's',
      job_id: crypto.randomUUID(),
      agent_id: agentId,
      session_version: 1,
      model_calls: [{ flow_id: 'f', model_call_id: 'm', token_count: 1 }],
    };
    return { job, run: () => deliverWebhook(h.deps, job) };
  }

  it('classifies addresses: only public unicast, with embedded IPv4 judged by itself', () => {
    const refused = [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '198.18.0.1',
      '198.19.255.255',
      '0.0.0.0',
      '0.1.2.3',
      '255.255.255.255',
      '224.0.0.1',
      '240.0.0.1',
      '192.0.2.1',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'fd00:ec2::254',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      '::127.0.0.1',
      '::8.8.8.8',
      '64:ff9b::7f00:1',
      '64:ff9b::a9fe:a9fe',
      '64:ff9b:1::1',
      '2002:7f00:1::1',
      '2002:c0a8:101::1',
      '2001::1',
      '2001:db8::1',
      'not an address',
    ];
    for (const a of refused) expect(isPublicAddress(a), a).toBe(false);
    for (const a of [
      '8.8.8.8',
      PUBLIC,
      '2606:4700:4700::1111',
      '::ffff:8.8.8.8',
      '64:ff9b::808:808',
      '2002:808:808::1',
    ])
      expect(isPublicAddress(a), a).toBe(true);
  });

  it('refuses every bypass at registration with a 400 and stores nothing', async () => {
    for (const [i, url] of bypasses(8080).entries()) {
      const res = await register(`reg-${i}`, url);
      expect(res.status, url).toBe(400);
      expect(res.json.error).toMatchObject({
        code: 'BAD_REQUEST',
        message: 'config.webhook.url: must not point at a loopback, private or internal host',
      });
      expect((await c.call('GET', `/v1/agents/reg-${i}/context`)).status, url).toBe(404);
    }
    // Every address counts: one public address among private ones does not make the name public.
    expect((await register('reg-mixed', 'https://mixed.example.com/hook')).status).toBe(400);
    expect((await register('reg-rebound', 'https://rebound.example.com/hook')).status).toBe(400);
    // Not a blanket refusal: a name that resolves to public addresses only, and a public literal, are accepted.
    expect((await register('reg-public', 'https://hooks.example.com/hook')).status).toBe(201);
    expect((await register('reg-literal', `https://${PUBLIC}/hook`)).status).toBe(201);
  });

  it('refuses every bypass at delivery and sends nothing', async () => {
    const target = await receiver();
    closers.push(target.close);
    for (const [i, url] of bypasses(target.port).entries()) {
      const { run } = await deliverTo(`del-${i}`, url);
      const result = await run();
      expect(result.status, url).toBe('skipped');
      expect(result.reason, url).toMatch(/^webhook host (is|resolves to)/);
    }
    expect(target.requests).toEqual([]);
  });

  it('refuses a public-looking name that resolves to 127.0.0.1 at delivery, with nothing sent', async () => {
    const target = await receiver();
    closers.push(target.close);
    for (const name of ['rebound.example.com', 'mixed.example.com']) {
      const { run } = await deliverTo(`rebound-${name.split('.')[0]}`, `http://${name}:${target.port}/hook`);
      expect(await run(), name).toEqual({ status: 'skipped', reason: 'webhook host resolves to a non-public address' });
    }
    expect(dnsServer.queries).toContain('A rebound.example.com');
    expect(target.requests).toEqual([]);
  });

  it('connects to the address it checked: a name only the test DNS server knows is delivered to', async () => {
    // The system resolver cannot resolve this name, so the request only arrives if the socket used the vetted
    // address instead of looking the name up again.
    await expect(dns.lookup('only-here.example.com')).rejects.toThrow();
    const target = await receiver();
    closers.push(target.close);
    const { run } = await deliverTo('pinned', `http://only-here.example.com:${target.port}/hook`, true);
    expect(await run()).toMatchObject({ status: 'delivered' });
    expect(target.requests).toHaveLength(1);
    expect(target.requests[0]).toMatchObject({ method: 'POST', url: '/hook' });
    expect(target.requests[0]!.headers.host).toBe(`only-here.example.com:${target.port}`);
  });

  it('does not follow a redirect: the signed POST never reaches the second server', async () => {
    const second = await receiver();
    const first = await receiver((res) =>
      res.writeHead(307, { location: `http://127.0.0.1:${second.port}/stolen` }).end(),
    );
    closers.push(first.close, second.close);
    // Private targets allowed, so the first hop is reachable and only the redirect rule is under test.
    const { job, run } = await deliverTo('redirected', `http://127.0.0.1:${first.port}/hook`, true);
    await expect(run()).rejects.toThrow('webhook answered 307; redirects are not followed');
    expect(first.requests).toHaveLength(1);
    expect(second.requests).toHaveLength(0);

    // Through the queue: a redirect is a failed delivery, retried a bounded number of times, then dead-lettered.
    await h.deps.queue.send(job);
    await h.deps.queue.drain();
    expect(first.requests).toHaveLength(6);
    expect(second.requests).toHaveLength(0);
    expect(h.deps.queue.deadLetters).toContainEqual(
      expect.objectContaining({
        job: expect.objectContaining({ job_id: job.job_id }),
        error: expect.stringContaining('redirects are not followed'),
      }),
    );
  });
});
