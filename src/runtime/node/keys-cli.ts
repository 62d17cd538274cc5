// `context-engine keys <create|list|revoke>` (`npm run keys --` in a checkout): manage API keys directly in the
// database (DATABASE_URL or DATA_DIR).
import { parseArgs } from 'node:util';
import { parseEnv } from '../../config/env.js';
import { createLogger } from '../../logger.js';
import { exitIfInUse } from './data-dir-lock.js';
import { createNodeDeps, openStore } from './deps.js';
import { createApiKey, listApiKeys, revokeApiKey, scopes as allScopes, type Scope } from '../../services/auth.js';

const usage = `usage:
  context-engine keys create --tenant <id> [--scopes read,write,admin]
  context-engine keys list [--tenant <id>]
  context-engine keys revoke <key id>
(in a checkout: npm run keys -- …)`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { tenant: { type: 'string' }, scopes: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
const [command, arg] = positionals;
if (values.help || !command) {
  console.log(usage);
  process.exit(command ? 0 : 2);
}

const env = parseEnv(process.env);
const { store } = await openStore(env, 'npm run keys').catch(exitIfInUse);
const deps = await createNodeDeps(env, { store, logger: createLogger('warn'), queue: 'memory' });
try {
  if (command === 'create') {
    if (!values.tenant) throw new Error('--tenant is required');
    const requested = (values.scopes ?? 'read,write').split(',').map((s) => s.trim());
    const bad = requested.filter((s) => !(allScopes as readonly string[]).includes(s));
    if (bad.length) throw new Error(`unknown scope(s): ${bad.join(', ')} (use ${allScopes.join(', ')})`);
    const key = await createApiKey(deps, { tenantId: values.tenant, scopes: requested as Scope[] });
    console.log(`created key ${key.id} for tenant ${key.tenant} with scopes ${key.scopes.join(',')}`);
    console.log(`key (shown once): ${key.key}`);
  } else if (command === 'list') {
    const keys = await listApiKeys(deps, values.tenant);
    for (const k of keys)
      console.log(
        `${k.id}\t${k.tenant}\t${k.prefix}…\t${k.scopes.join(',')}\t${k.revoked_at ? `revoked ${k.revoked_at}` : 'active'}`,
      );
    console.log(`${keys.length} key(s)`);
  } else if (command === 'revoke') {
    if (!arg) throw new Error('give the key id to revoke');
    await revokeApiKey(deps, arg);
    console.log(`revoked ${arg}`);
  } else {
    throw new Error(`unknown command "${command}"\n${usage}`);
  }
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await deps.close();
}
