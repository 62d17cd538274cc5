// Local stand-in for Neon's SQL-over-HTTP endpoint (POST /sql) over a real PostgreSQL (`pg`), so the production
// `@neondatabase/serverless` client and drizzle's `neon-http` run unmodified. Test infrastructure only.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { errorMessage, GatewayError, listen, readJson, redactUrl, sendJson } from './http.js';
import pg from 'pg';

export interface NeonGatewayOptions {
  /** The PostgreSQL every request runs against; the connection string sent by the client is only validated. */
  databaseUrl: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
}

export interface NeonGateway {
  /** Base URL, e.g. http://127.0.0.1:4444 */
  url: string;
  /** Full URL of the SQL endpoint, for `neonConfig.fetchEndpoint`. */
  fetchEndpoint: string;
  close(): Promise<void>;
}

interface SqlQuery {
  query: string;
  params: unknown[];
}

/** Error answered as HTTP `status` with a JSON body, the way Neon reports request problems. */
// Neon answers with raw Postgres text and the client parses it with its own pg-types; parsing here would
// turn values into JS types the client then fails to re-parse (e.g. Date objects, JSON objects).
const rawText: pg.CustomTypesConfig = {
  getTypeParser: (() => (value: string) => value) as unknown as pg.CustomTypesConfig['getTypeParser'],
};

const isolationLevels: Record<string, string> = {
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Serializable: 'SERIALIZABLE',
};

// Every field of a Postgres error the client copies onto NeonDbError.
const errorFields = [
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const;

export async function startNeonGateway(opts: NeonGatewayOptions): Promise<NeonGateway> {
  const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 10 });
  // An idle client dropped by the server must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  // Fail at start-up, not on the first request, when the database is unreachable.
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => {});
    throw new Error(`cannot reach PostgreSQL: ${errorMessage(err)}`, { cause: err });
  }

  const server = createServer((req, res) => {
    handle(pool, req, res).catch((err: unknown) => {
      sendJson(res, 500, { message: `gateway failure: ${errorMessage(err)}` });
    });
  });

  const url = await listen(server, opts.host ?? '127.0.0.1', opts.port ?? 0);

  let closing: Promise<void> | undefined;
  return {
    url,
    fetchEndpoint: `${url}/sql`,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // fetch keeps connections alive; without this close() would wait for them to time out.
        server.closeAllConnections();
        await closed;
        await pool.end();
      })();
      return closing;
    },
  };
}

async function handle(pool: pg.Pool, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://gateway').pathname;
  if (path !== '/sql') {
    sendJson(res, 404, { message: `not found: ${path}` });
    return;
  }
  if (req.method !== 'POST') {
    sendJson(res, 405, { message: 'only POST is supported' });
    return;
  }

  try {
    const body = await readJson(req, 'request body is not valid JSON');
    checkConnectionString(header(req, 'neon-connection-string'));
    // The client always asks for raw text and parses it itself; JSON-typed output is not emulated.
    if (header(req, 'neon-raw-text-output') !== 'true') {
      throw new GatewayError(400, 'this stand-in only supports neon-raw-text-output: true');
    }
    const arrayMode = header(req, 'neon-array-mode') === 'true';

    if (isRecord(body) && 'queries' in body) {
      const queries = parseBatch(body.queries);
      const begin = beginStatement(req);
      const results = await runBatch(pool, begin, queries);
      sendJson(res, 200, { results: results.map((r) => shapeResult(r, arrayMode)) });
    } else {
      const query = parseQuery(body);
      const result = await pool.query(queryConfig(query));
      sendJson(res, 200, shapeResult(result, arrayMode));
    }
  } catch (err) {
    if (err instanceof GatewayError) {
      sendJson(res, err.status, { message: err.message });
    } else if (err instanceof pg.DatabaseError) {
      sendJson(res, 400, databaseErrorBody(err));
    } else {
      // Not a Postgres error (e.g. the database is unreachable): Neon reports those as server errors.
      sendJson(res, 500, { message: errorMessage(err) });
    }
  }
}

/** Runs the queries in one transaction: all succeed or none does, as Neon's batch endpoint guarantees. */
async function runBatch(pool: pg.Pool, begin: string, queries: SqlQuery[]): Promise<pg.QueryArrayResult[]> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(begin);
    try {
      const results: pg.QueryArrayResult[] = [];
      for (const q of queries) results.push(await client.query(queryConfig(q)));
      await client.query('COMMIT');
      return results;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
        // A client that cannot roll back is in an unknown state; it must not go back into the pool.
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      });
      throw err;
    }
  } finally {
    client.release(broken);
  }
}

function queryConfig(q: SqlQuery): pg.QueryArrayConfig & { queryMode: 'extended' } {
  return {
    text: q.query,
    values: q.params,
    rowMode: 'array',
    types: rawText,
    // Neon always uses the extended protocol, so several statements in one query fail there
    // ("cannot insert multiple commands into a prepared statement"); pg would otherwise use the simple
    // protocol for parameterless queries and accept them, hiding the bug until production.
    queryMode: 'extended',
  };
}

function shapeResult(result: pg.QueryArrayResult, arrayMode: boolean): Record<string, unknown> {
  const fields = result.fields.map((f) => ({
    name: f.name,
    dataTypeID: f.dataTypeID,
    tableID: f.tableID,
    columnID: f.columnID,
    dataTypeSize: f.dataTypeSize,
    dataTypeModifier: f.dataTypeModifier,
    format: f.format,
  }));
  const rows = arrayMode
    ? result.rows
    : result.rows.map((row) => Object.fromEntries(fields.map((f, i) => [f.name, row[i] ?? null])));
  return { command: result.command, rowCount: result.rowCount, fields, rows, rowAsArray: arrayMode };
}

function beginStatement(req: IncomingMessage): string {
  const parts = ['BEGIN'];
  const level = header(req, 'neon-batch-isolation-level');
  if (level !== undefined) {
    const sqlLevel = isolationLevels[level];
    if (sqlLevel === undefined) throw new GatewayError(400, `invalid neon-batch-isolation-level: ${level}`);
    parts.push(`ISOLATION LEVEL ${sqlLevel}`);
  }
  const readOnly = booleanHeader(req, 'neon-batch-read-only');
  if (readOnly !== undefined) parts.push(readOnly ? 'READ ONLY' : 'READ WRITE');
  const deferrable = booleanHeader(req, 'neon-batch-deferrable');
  if (deferrable !== undefined) parts.push(deferrable ? 'DEFERRABLE' : 'NOT DEFERRABLE');
  return parts.join(' ');
}

function booleanHeader(req: IncomingMessage, name: string): boolean | undefined {
  const value = header(req, name);
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new GatewayError(400, `invalid ${name}: ${value}`);
}

function parseBatch(value: unknown): SqlQuery[] {
  if (!Array.isArray(value)) throw new GatewayError(400, 'queries must be an array');
  return value.map(parseQuery);
}

function parseQuery(value: unknown): SqlQuery {
  if (!isRecord(value) || typeof value.query !== 'string') {
    throw new GatewayError(400, 'request body must have a string "query"');
  }
  const params = value.params ?? [];
  if (!Array.isArray(params)) throw new GatewayError(400, '"params" must be an array');
  return { query: value.query, params };
}

function checkConnectionString(value: string | undefined): void {
  // Neon routes by this header; the stand-in ignores its target but rejects what Neon would reject.
  if (value === undefined) throw new GatewayError(400, 'missing neon-connection-string header');
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new GatewayError(400, 'neon-connection-string is not a valid URL');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new GatewayError(400, 'neon-connection-string must be a postgres:// URL');
  }
}

function databaseErrorBody(err: pg.DatabaseError): Record<string, unknown> {
  const body: Record<string, unknown> = { message: err.message };
  for (const field of errorFields) {
    const value = err[field];
    if (value !== undefined) body[field] = value;
  }
  return body;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
