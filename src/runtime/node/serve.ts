// The app on a Node HTTP server, as `npm start` runs it. A body the app answered without reading (413, an early 401) is
// drained before the answer so the connection stays usable; past a bound the answer closes the connection instead.
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type HttpBindings, type ServerType } from '@hono/node-server';
import { limits } from '../../config/tuning.js';

export interface DrainBound {
  /** Bytes of an unread body read and discarded at most; a longer one (declared or sent) closes the connection. */
  bytes: number;
  /** How long to wait for the rest of an unread body before answering with `Connection: close`. */
  ms: number;
}

export const drainBound: DrainBound = { bytes: 4 * limits.bodyBytes, ms: 5_000 };

interface FetchApp {
  fetch(request: Request, env: HttpBindings): Response | Promise<Response>;
}

export function serveApp(
  app: FetchApp,
  options: { port: number; hostname: string; drain?: DrainBound },
  listening?: (info: AddressInfo) => void,
): ServerType {
  const bound = options.drain ?? drainBound;
  return serve(
    {
      port: options.port,
      hostname: options.hostname,
      fetch: async (request, env) => {
        const bindings = env as HttpBindings;
        const response = await app.fetch(request, bindings);
        return (await discardUnread(bindings.incoming, bound)) ? response : closing(response);
      },
    },
    listening,
  );
}

/** Reads what is left of the request body and drops it; whether it ended within the bound. */
function discardUnread(incoming: IncomingMessage, bound: DrainBound): Promise<boolean> {
  // Read to the end, or all of it received with nothing left in the buffer (a GET): the connection is in step.
  if (incoming.readableEnded || (incoming.complete && incoming.readableLength === 0)) return Promise.resolve(true);
  if (incoming.destroyed) return Promise.resolve(false);
  // Whatever the app had reading the body is done with it (the answer is made). A web stream reader left behind
  // keeps the request paused once its queue is full, so it is detached, as Node detaches listeners of a body it dumps.
  // Flowing with no listener of its own, the stream then discards the rest as it arrives, also past the bound.
  incoming.removeAllListeners('data');
  if (Number(incoming.headers['content-length']) > bound.bytes) {
    incoming.resume();
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (ended: boolean) => {
      clearTimeout(timer);
      incoming.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onClose);
      resolve(ended);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > bound.bytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onClose = () => finish(incoming.readableEnded);
    const timer = setTimeout(() => finish(false), bound.ms);
    incoming.on('data', onData).on('end', onEnd).on('close', onClose).on('error', onClose);
    incoming.resume();
  });
}

/** The same answer, marked as the connection's last. */
function closing(response: Response): Response {
  const headers = new Headers(response.headers);
  headers.set('connection', 'close');
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
