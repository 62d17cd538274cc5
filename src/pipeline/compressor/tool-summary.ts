// Structured tool-result summaries (ADR 0008): an output reduced to its key values (ids, numbers, dates, statuses,
// errors, paths), kept verbatim and chosen by shape, not by tool or field name; the full output stays stored.
import type { Tokenizer } from '../../tokenizer.js';
import { mostThatFit } from '../sorted.js';

/** Highest priority first: what is dropped last when a summary has to shrink. */
export const fieldKinds = ['error', 'listed', 'id', 'date', 'path', 'code', 'status', 'number', 'flag'] as const;
export type FieldKind = (typeof fieldKinds)[number];

export interface ToolField {
  /** Keys and array indices from the root of the JSON output; a text output has one entry per kept line. */
  path: (string | number)[];
  kind: FieldKind;
  /** The value exactly as written (strings unquoted). */
  value: string;
  /** How many times the value occurs in the output (rarer values rank first within a kind). */
  repeats: number;
}

export interface ToolSummary {
  /** Compact rendering of the kept fields, in the output's own order. */
  text: string;
  fields: ToolField[];
  /**
   * Identifier-like values (ids, codes with digits, dates, listed fields) in order of appearance, without repeats:
   * what the next call most likely needs, for the findings digest.
   */
  identifiers: string[];
  /** The output was JSON. */
  json: boolean;
}

export interface ToolSummaryOptions {
  /** Field names (or dotted paths) kept whatever their shape, for this tool. */
  keep?: readonly string[];
  /** Longest summary in tokens; the lowest-priority fields go first. */
  maxTokens?: number;
}

/** Leaves read from one output: enough for any real result, bounded for a pathological one. */
const MAX_LEAVES = 4_000;
/** Longest string value that still counts as a field rather than prose (errors and listed fields excepted). */
const MAX_FIELD_CHARS = 64;
/** Longest error or listed value kept whole. */
const MAX_ERROR_CHARS = 400;
export const DEFAULT_SUMMARY_TOKENS = 240;
/** Text outputs up to this many tokens are kept whole. */
const SHORT_TEXT_TOKENS = 48;

const ERROR_KEY = /(^|_|\b)(err|error|errors|exception|fault|failure|failed|reason|warning|warnings)($|_|\b)/i;
const ERROR_TEXT = /^\s*(error|err|exception|fatal|failed|failure|denied|forbidden|traceback|panic)\b/i;
const DATE =
  /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$|^\d{1,2}:\d{2}(:\d{2})?$|^\d{1,2}\/\d{1,2}\/\d{2,4}$/;
const PATH = /^(?:[a-z][a-z0-9+.-]*:\/\/\S+|~?\/[^\s]*|\.{1,2}\/[^\s]*|[A-Za-z]:\\[^\s]*|[\w.-]+\/[\w./-]*\.\w{1,8})$/;
const CODE = /^[A-Z][A-Z0-9_-]{1,15}$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}\.[A-Za-z]{2,}$/;
const WORD = /^[\p{L}\p{N}_.+-]{1,24}$/u;
const HAS_DIGIT = /\d/;
/** A key made of an identifier: no spaces and at least three digits (`credit_card_4421486`, not `address1`). */
const ID_KEY = /^(?=(?:\D*\d){3})\S+$/;

/** How a string value is kept, or undefined when it is prose. */
export function stringKind(value: string): FieldKind | undefined {
  const v = value.trim();
  if (!v) return undefined;
  if (ERROR_TEXT.test(v)) return 'error';
  if (DATE.test(v)) return 'date';
  if (v.length <= 260 && PATH.test(v)) return 'path';
  if (EMAIL.test(v)) return 'id';
  if (HAS_DIGIT.test(v) && v.length <= MAX_FIELD_CHARS && v.split(/\s+/).length <= 4) return 'id';
  if (CODE.test(v)) return 'code';
  if (WORD.test(v)) return 'status';
  return undefined;
}

const keyName = (path: (string | number)[]) => {
  for (let i = path.length - 1; i >= 0; i--) if (typeof path[i] === 'string') return path[i] as string;
  return '';
};

function listedMatcher(keep: readonly string[] | undefined) {
  if (!keep?.length) return () => false;
  const names = new Set(keep.map((k) => k.toLowerCase()));
  return (path: (string | number)[]) => {
    if (names.has(keyName(path).toLowerCase())) return true;
    const dotted = path
      .filter((p) => typeof p === 'string')
      .join('.')
      .toLowerCase();
    return names.has(dotted);
  };
}

interface Leaf {
  path: (string | number)[];
  value: unknown;
}

function walk(value: unknown, path: (string | number)[], out: Leaf[]): void {
  if (out.length >= MAX_LEAVES) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, [...path, i], out));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      // A key that is itself an identifier (`"credit_card_4421486": {…}`) is a value worth keeping.
      if (ID_KEY.test(k) && k.length <= MAX_FIELD_CHARS) out.push({ path: [...path, k, '#key'], value: k });
      walk(v, [...path, k], out);
    }
  } else out.push({ path, value });
}

function parseJson(content: string): unknown {
  const t = content.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

function jsonFields(root: unknown, listed: (path: (string | number)[]) => boolean): ToolField[] {
  const leaves: Leaf[] = [];
  walk(root, [], leaves);
  const counts = new Map<string, number>();
  for (const l of leaves) {
    const key = String(l.value);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const fields: ToolField[] = [];
  for (const l of leaves) {
    const isKey = l.path[l.path.length - 1] === '#key';
    const path = l.path;
    let kind: FieldKind | undefined;
    let value: string;
    if (l.value === null || l.value === undefined) continue;
    if (typeof l.value === 'number') {
      value = String(l.value);
      kind = 'number';
    } else if (typeof l.value === 'boolean') {
      value = String(l.value);
      kind = 'flag';
    } else {
      value = String(l.value);
      kind = isKey ? 'id' : stringKind(value);
      const name = keyName(l.path);
      if (!isKey && ERROR_KEY.test(name) && value.trim()) kind = 'error';
    }
    if (!isKey && listed(l.path)) kind = 'listed';
    if (!kind) continue;
    if ((kind === 'error' || kind === 'listed') && value.length > MAX_ERROR_CHARS)
      value = value.slice(0, MAX_ERROR_CHARS);
    fields.push({ path, kind, value, repeats: counts.get(String(l.value)) ?? 1 });
  }
  return fields;
}

const ID_TOKEN = /[\p{L}\p{N}_./:@#-]*\d[\p{L}\p{N}_./:@#-]*/gu;

/** Text output: the lines that carry errors, identifiers, paths or `key: value` facts, in order. */
function textFields(content: string, listed: (path: (string | number)[]) => boolean): ToolField[] {
  const fields: ToolField[] = [];
  const lines = content.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    if (fields.length >= MAX_LEAVES) break;
    const line = raw.trim();
    if (!line) continue;
    const kv = line.match(/^([\w .-]{1,40}?)\s*[:=]\s*(.+)$/);
    if (kv && listed([kv[1]!.trim()])) {
      fields.push({ path: [i], kind: 'listed', value: line.slice(0, MAX_ERROR_CHARS), repeats: 1 });
      continue;
    }
    if (
      ERROR_TEXT.test(line) ||
      /\b(error|exception|failed|denied|not found|invalid|timeout|timed out)\b/i.test(line)
    ) {
      fields.push({ path: [i], kind: 'error', value: line.slice(0, MAX_ERROR_CHARS), repeats: 1 });
      continue;
    }
    const ids = line.match(ID_TOKEN) ?? [];
    if (line.length <= 160 && (ids.length > 0 || kv || PATH.test(line.split(/\s+/)[0] ?? ''))) {
      fields.push({ path: [i], kind: ids.length > 0 ? 'id' : kv ? 'status' : 'path', value: line, repeats: 1 });
      continue;
    }
    // A long line (prose, minified data): keep its identifier-like tokens only.
    for (const id of ids.slice(0, 32))
      if (id.length >= 3) fields.push({ path: [i], kind: 'id', value: id, repeats: 1 });
  }
  const counts = new Map<string, number>();
  for (const f of fields) counts.set(f.value, (counts.get(f.value) ?? 0) + 1);
  return fields.map((f) => ({ ...f, repeats: counts.get(f.value) ?? 1 }));
}

const BARE = /^[^,;{}[\]"\n]+$/;
const show = (v: string) => (BARE.test(v) && v.trim() === v ? v : `"${v.replace(/\s*\n\s*/g, ' ')}"`);

/** Renders JSON fields as nested `key: value` lists (`{…}` for objects, `[…; …]` for arrays), in document order. */
function renderJson(fields: ToolField[]): string {
  type Node = { kind: 'obj'; keys: Map<string | number, Node>; array: boolean } | { kind: 'leaf'; value: string };
  const root: Node = { kind: 'obj', keys: new Map(), array: false };
  for (const f of fields) {
    const isKey = f.path[f.path.length - 1] === '#key';
    const path = isKey ? f.path.slice(0, -1) : f.path;
    let node = root as Extract<Node, { kind: 'obj' }>;
    for (let i = 0; i < path.length - (isKey ? 0 : 1); i++) {
      const p = path[i]!;
      let next = node.keys.get(p);
      if (!next || next.kind !== 'obj') {
        next = { kind: 'obj', keys: new Map(), array: typeof path[i + 1] === 'number' };
        node.keys.set(p, next);
      }
      node = next;
    }
    if (!isKey) node.keys.set(path[path.length - 1] ?? '', { kind: 'leaf', value: f.value });
  }
  const out = (n: Node, top: boolean): string => {
    if (n.kind === 'leaf') return show(n.value);
    const parts = [...n.keys].map(([k, v]) => (n.array ? out(v, false) : `${k}: ${out(v, false)}`));
    if (n.array) return `[${parts.join('; ')}]`;
    return top ? parts.join(', ') : `{${parts.join(', ')}}`;
  };
  // An array at the root renders as a list; a scalar root as itself.
  const only = root.keys.size === 1 ? root.keys.get('') : undefined;
  if (only) return out(only, true);
  const first = fields[0]?.path[0];
  if (typeof first === 'number') return out({ kind: 'obj', keys: root.keys, array: true }, true);
  return out(root, true);
}

/**
 * Identifier-like values in order of appearance, each once: ids, dates and paths whole; from error messages and text
 * lines, the tokens that carry a digit (`T-4412` in `FAILED T-4412 …`); listed fields when they are identifier-shaped.
 */
function identifiersOf(fields: ToolField[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  const add = (v: string) => {
    if (v.length < 3 || seen.has(v)) return;
    seen.add(v);
    out.push(v);
  };
  for (const f of fields) {
    const line = typeof f.path[0] === 'number' && f.path.length === 1;
    if (f.kind === 'error' || (line && f.kind !== 'path')) {
      for (const v of f.value.match(ID_TOKEN) ?? []) add(v.replace(/[.:]+$/, ''));
    } else if (f.kind === 'id' || f.kind === 'date' || f.kind === 'path') add(f.value);
    else if (f.kind === 'listed') {
      const k = stringKind(f.value);
      if (k === 'id' || k === 'date' || k === 'path') add(f.value);
    }
  }
  return out;
}

/**
 * The highest-priority fields whose rendering fits a number of tokens, in the output's order: `fit(maxTokens)`. The
 * token count of each candidate set (the best n fields) is remembered, so fitting the same output again, to the same
 * or another size, counts only sets not counted before.
 */
function fitter(fields: ToolField[], render: (f: ToolField[]) => string, tok: Tokenizer) {
  const rank = (f: ToolField) => fieldKinds.indexOf(f.kind);
  let order: { f: ToolField; i: number }[] | undefined;
  // The best n fields in the output's order; all of them is the output's own order.
  const pick = (n: number) => {
    if (n === fields.length) return fields;
    order ??= fields
      .map((f, i) => ({ f, i }))
      .sort((a, b) => rank(a.f) - rank(b.f) || a.f.repeats - b.f.repeats || a.i - b.i);
    return order
      .slice(0, n)
      .sort((a, b) => a.i - b.i)
      .map((x) => x.f);
  };
  const counted = new Map<number, number>();
  const tokensOf = (n: number) => {
    let t = counted.get(n);
    if (t === undefined) counted.set(n, (t = tok.count(render(pick(n)))));
    return t;
  };
  return (maxTokens: number): ToolField[] => {
    if (tokensOf(fields.length) <= maxTokens) return fields;
    // Binary search on how many of the best fields fit: rendering is cheap next to per-field counting.
    return pick(mostThatFit(fields.length, (n) => tokensOf(n) <= maxTokens));
  };
}

/** The summaries of an output's fields at any size, each rendered from the fields that fit. */
function sized(all: ToolField[], render: (f: ToolField[]) => string, json: boolean, tok: Tokenizer) {
  const identifiers = identifiersOf(all);
  const fit = fitter(all, render, tok);
  return (maxTokens = DEFAULT_SUMMARY_TOKENS): ToolSummary => {
    const fields = fit(maxTokens);
    return { text: render(fields), fields, identifiers, json };
  };
}

/**
 * An output's summaries at any size (`maxTokens`, DEFAULT_SUMMARY_TOKENS when not given): the output is read and its
 * fields found once, and each size's fit reuses the counts of earlier ones. Same results as `summarizeToolResult`.
 */
export function toolSummaries(
  content: string,
  tok: Tokenizer,
  opts: Pick<ToolSummaryOptions, 'keep'> = {},
): (maxTokens?: number) => ToolSummary {
  const listed = listedMatcher(opts.keep);
  const root = parseJson(content);
  if (root !== undefined && typeof root === 'object' && root !== null)
    return sized(jsonFields(root, listed), renderJson, true, tok);
  // A short text output is its own summary, at any size.
  if (tok.count(content) <= SHORT_TEXT_TOKENS) {
    const all = content.trim() ? textFields(content, listed) : [];
    const field: ToolField = {
      path: [0],
      kind: ERROR_TEXT.test(content) ? 'error' : 'status',
      value: content.trim(),
      repeats: 1,
    };
    const summary = {
      text: field.value,
      fields: field.value ? [field] : [],
      identifiers: identifiersOf(all),
      json: false,
    };
    return () => summary;
  }
  return sized(textFields(content, listed), (fs) => fs.map((f) => f.value).join('\n'), false, tok);
}

export function summarizeToolResult(content: string, tok: Tokenizer, opts: ToolSummaryOptions = {}): ToolSummary {
  return toolSummaries(content, tok, opts)(opts.maxTokens);
}

/**
 * A JSON value as compact `key: value` text (every field); strings longer than `maxString` characters are cut and
 * marked with `…`. Other text as it is, cut the same way.
 */
export function compactJson(text: string, maxString = Infinity): string {
  const cut = (v: string) => (v.length > maxString ? `${v.slice(0, maxString)}…` : v);
  const root = parseJson(text);
  if (root === undefined) return cut(text);
  const out = (v: unknown, top: boolean): string => {
    if (Array.isArray(v)) return `[${v.map((x) => out(x, false)).join('; ')}]`;
    if (v && typeof v === 'object') {
      const parts = Object.entries(v).map(([k, x]) => `${k}: ${out(x, false)}`);
      return top ? parts.join(', ') : `{${parts.join(', ')}}`;
    }
    return v === null ? 'null' : show(cut(String(v)));
  };
  return out(root, true);
}
