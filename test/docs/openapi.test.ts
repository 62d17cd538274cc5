// The OpenAPI document: valid OpenAPI 3.1, covering every route the app registers, with examples that the routes'
// own schemas accept.
import { validate, compileErrors } from '@readme/openapi-parser';
import type { z } from '@hono/zod-openapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/adapters/store/pglite.js';
import pkg from '../../package.json' with { type: 'json' };
import { harness, type Harness } from '../helpers.js';

// Routes that are not part of the JSON API: the document itself, pages for people, and MCP's JSON-RPC endpoint.
const notInDocument = new Set([
  'GET /openapi.json',
  'GET /docs',
  'GET /docs/scalar.js',
  'GET /inspect',
  'GET /inspect/{file}',
  'POST /mcp',
  'GET /mcp',
  'DELETE /mcp',
]);

const methods = ['get', 'post', 'put', 'patch', 'delete'] as const;
type Operation = { operationId?: string; summary?: string; requestBody?: any; responses: Record<string, any> };

describe('OpenAPI document', () => {
  let h: Harness;
  let doc: any;
  beforeAll(async () => {
    h = await harness(() => openPglite());
    const res = await h.app.request('/openapi.json');
    expect(res.status).toBe(200);
    doc = await res.json();
  });
  afterAll(async () => h.close());

  const operations = () =>
    Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
      methods.filter((m) => item[m]).map((m) => ({ key: `${m.toUpperCase()} ${path}`, op: item[m]! })),
    );

  it('is valid OpenAPI 3.1', async () => {
    expect(doc.openapi).toBe('3.1.0');
    // The validator dereferences in place, so it gets its own copy.
    const result = await validate(structuredClone(doc));
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
  });

  it('documents every route the app registers, and nothing else', () => {
    const registered = new Set(
      h.app.routes
        .filter((r) => r.method !== 'ALL')
        .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`),
    );
    const documented = new Set(operations().map((o) => o.key));
    const missing = [...registered].filter((k) => !documented.has(k) && !notInDocument.has(k));
    const phantom = [...documented].filter((k) => !registered.has(k));
    expect(missing).toEqual([]);
    expect(phantom).toEqual([]);
    for (const key of [
      'POST /v1/sessions/{session_id}/turns',
      'POST /v1/sessions/{session_id}/context',
      'GET /healthz',
      'GET /metrics',
    ])
      expect(documented).toContain(key);
    for (const key of notInDocument) expect(registered).toContain(key);
  });

  it('gives every operation an id, a summary, and examples for its JSON bodies', () => {
    const schemas = doc.components.schemas as Record<string, { example?: unknown }>;
    const hasExample = (media: any) => {
      if (!media) return true;
      if (media.example !== undefined || media.examples !== undefined) return true;
      const ref: string | undefined = media.schema?.$ref;
      return ref ? schemas[ref.split('/').pop()!]?.example !== undefined : media.schema?.example !== undefined;
    };
    const ids = new Set<string>();
    for (const { key, op } of operations()) {
      expect(op.operationId, key).toBeTruthy();
      expect(ids.has(op.operationId!), `${key}: duplicate operationId`).toBe(false);
      ids.add(op.operationId!);
      expect(op.summary, key).toBeTruthy();
      expect(hasExample(op.requestBody?.content?.['application/json']), `${key} request`).toBe(true);
      for (const [status, response] of Object.entries(op.responses))
        expect(hasExample(response.content?.['application/json']), `${key} ${status}`).toBe(true);
    }
  });

  it('names the package version and operations by what users do, with no internal names', () => {
    expect(doc.info.version).toBe(pkg.version);
    for (const { key, op } of operations()) {
      // camelCase verb-first ids (createApiKey, listSessions), and summaries without internal names in parentheses.
      expect(op.operationId, key).toMatch(
        /^(get|list|create|write|query|search|register|update|put|delete|revoke|append|record|publish|rebuild)[A-Z]\w*$/,
      );
      expect(op.summary, key).not.toMatch(/\([A-Z][a-z]+[A-Z]\w*\)/);
    }
  });

  it('documents the 415, 429 and 500 answers of every /v1 route, with Retry-After on a 429', () => {
    const errorRef = '#/components/schemas/Error';
    for (const { key, op } of operations().filter((o) => o.key.includes(' /v1/'))) {
      for (const status of ['400', '415', '429', '500', '503'])
        expect(op.responses[status]?.content?.['application/json']?.schema?.$ref, `${key} ${status}`).toBe(errorRef);
      expect(op.responses['429'].headers?.['Retry-After']?.schema?.type, key).toBe('integer');
      expect(op.responses['415'].content['application/json'].example.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('has examples that the routes’ own schemas accept', () => {
    let checked = 0;
    for (const def of h.app.openAPIRegistry.definitions) {
      if (def.type !== 'route') continue;
      const { route } = def;
      const media = [
        ['request', route.request?.body?.content?.['application/json']],
        ...Object.entries(route.responses).map(([status, r]) => [
          status,
          'content' in r ? r.content?.['application/json'] : undefined,
        ]),
      ] as [string, { schema?: z.ZodType; example?: unknown } | undefined][];
      for (const [where, m] of media) {
        if (!m || m.example === undefined || !m.schema || !('safeParse' in m.schema)) continue;
        const parsed = m.schema.safeParse(m.example);
        expect(parsed.success, `${route.operationId} ${where}: ${parsed.error?.message}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });
});
