// The Worker's own isolate time, from a V8 CPU profile taken through the DevTools protocol (wrangler dev's inspector):
// unlike the workerd process's CPU, it leaves out the local stack (wrangler's entry worker, the HTTP server, the
// outbound connections to the stand-ins), so it is the nearer figure to the CPU time Cloudflare counts.

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Milliseconds the isolate was busy (any sample but `(idle)`) between two times of the profile's clock (µs, the
 * monotonic clock, as `process.hrtime`). V8 samples a running isolate about every interval (workerd keeps it less
 * precisely than asked, so the interval is taken as the median gap between samples); the gap before a sample that
 * follows a pause (I/O, another request) counts as one interval, not as the pause.
 */
export function busyMsBetween(p: CpuProfile, fromUs: number, toUs: number): number {
  const interval = medianGapUs(p);
  const idle = new Set(p.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  let t = p.startTime;
  let us = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const delta = p.timeDeltas[i] ?? 0;
    t += delta;
    if (t < fromUs || t > toUs || idle.has(p.samples[i]!)) continue;
    us += delta <= 1.5 * interval ? delta : interval;
  }
  return us / 1000;
}

export function medianGapUs(p: CpuProfile): number {
  const gaps = p.timeDeltas.filter((d) => d > 0).sort((a, b) => a - b);
  return gaps.length ? gaps[Math.floor(gaps.length / 2)]! : 0;
}

/** A DevTools-protocol session over a WebSocket (Node ≥ 22, or Node 20 with --experimental-websocket). */
export async function inspect(url: string): Promise<{
  send: (method: string, params?: object) => Promise<any>;
  close: () => void;
}> {
  if (typeof WebSocket === 'undefined')
    throw new Error('profiling needs WebSocket: Node ≥ 22, or NODE_OPTIONS=--experimental-websocket on Node 20');
  // wrangler's inspector proxy accepts only local origins; Node's WebSocket takes headers as a non-standard option.
  const ws = new (WebSocket as any)(url, { headers: { origin: 'http://localhost' } }) as WebSocket;
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', () => reject(new Error(`cannot open the inspector at ${url}`)));
  });
  let id = 0;
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  ws.addEventListener('message', (e) => {
    const m = JSON.parse(String(e.data));
    const p = m.id === undefined ? undefined : pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(`${m.error.message} (${m.error.code})`));
    else p.resolve(m.result);
  });
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const n = ++id;
        pending.set(n, { resolve, reject });
        ws.send(JSON.stringify({ id: n, method, params }));
      }),
    close: () => ws.close(),
  };
}
