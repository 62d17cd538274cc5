// Bearer keys: the admin key for /v1/admin, a tenant's API key for the rest of /v1, and per-route scope checks.
// Each builds the request's `ctx` for the tenant its key belongs to.
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../../errors.js';
import type { Deps } from '../../ports.js';
import { authenticate, authenticateAdmin, type Scope } from '../../services/auth.js';
import type { AppEnv } from '../app-env.js';

export function adminAuth(deps: Deps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await authenticateAdmin(deps.env.CONTEXT_ADMIN_KEY, c.req.header('Authorization'));
    c.set('principal', { tenantId: '', keyId: 'admin', scopes: ['admin'] });
    c.set('ctx', {
      ...deps,
      tenantId: '',
      requestId: c.get('requestId'),
      logger: deps.logger.child({ request_id: c.get('requestId'), admin: true }),
    });
    await next();
  };
}

/** A tenant's API key, for every /v1 path outside /v1/admin. */
export function keyAuth(deps: Deps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.path.startsWith('/v1/admin/')) return next();
    const principal = await authenticate(deps, c.req.header('Authorization'));
    c.set('principal', principal);
    c.set('ctx', {
      ...deps,
      tenantId: principal.tenantId,
      requestId: c.get('requestId'),
      clientRequestId: c.get('clientRequestId'),
      logger: deps.logger.child({ request_id: c.get('requestId'), tenant_id: principal.tenantId }),
    });
    await next();
  };
}

/** Route middleware: the key must carry this scope (admin keys carry every scope). */
export function requireScope(scope: Scope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    checkScope(c.get('principal').scopes, scope);
    await next();
  };
}

/** Throws FORBIDDEN unless `scopes` grant `scope`; for a request that also does what another scope allows. */
export function checkScope(scopes: readonly Scope[], scope: Scope): void {
  if (!scopes.includes(scope) && !scopes.includes('admin'))
    throw new ApiError('FORBIDDEN', `this key lacks the "${scope}" scope`);
}
