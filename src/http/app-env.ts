// What the middleware puts on every request for its handler: the request ids, the key's principal and the `ctx`.
import type { Ctx } from '../ports.js';
import type { Principal } from '../services/auth.js';

export interface AppEnv {
  Variables: { ctx: Ctx; principal: Principal; requestId: string; clientRequestId: string | undefined };
}
