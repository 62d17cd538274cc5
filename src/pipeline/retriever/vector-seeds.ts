// Vector seeds (ADR 0012): the session's turns closest to the query in meaning join the candidates. A remote model's
// vectors are stored by services/turn-vectors.ts, the bundled ones computed here; both searched exactly per session.
import { sql } from 'drizzle-orm';
import { defaults } from '../../config/tuning.js';
import { readRows, type Store } from '../../db/store.js';
import { hasWords, type Embedder } from '../../embedder.js';
import { int8Scan, maxScanQuery } from '../../kernels/int8-dots.js';
import { firstIndex } from '../sorted.js';
import type { TurnSource } from './types.js';
import { informativenessOf } from './informative.js';
import { SessionMemo, withRoom, type MemoSession } from './session-memo.js';

/**
 * The text a turn is embedded as by a semantic embedder: who spoke, then what was said. Questions name people as
 * often as topics ("What does Melanie do to destress?"), and a sentence vector of the words alone cannot tell whose
 * turn it is.
 */
export const embeddedText = (t: { name: string | null; content: string }) =>
  t.name ? `${t.name}: ${t.content}` : t.content;

/**
 * What a turn's closeness to a query in meaning adds to the cosine: with the bundled word vectors, a share of how much
 * the turn recounts (defaults.vectors.localInformative); nothing for a trained model's vectors.
 */
export const closenessPrior = (embedder: Embedder | undefined, content: string): number =>
  hasWords(embedder) ? defaults.vectors.localInformative * informativenessOf(content) : 0;

/** A vector as stored: int8 components and the scale that maps them back (component ≈ q × scale). */
export interface StoredVector {
  scale: number;
  vector: string;
}

/** A unit vector as int8 components with one scale: cosines move by about 0.01, memory is a quarter. */
function quantize(v: Float32Array): { q: Int8Array; scale: number } {
  let max = 0;
  for (const x of v) if (Math.abs(x) > max) max = Math.abs(x);
  const scale = max > 0 ? max / 127 : 1;
  // A plain loop: Int8Array.from with a mapping function takes the much slower iterator path.
  const q = new Int8Array(v.length);
  for (let i = 0; i < v.length; i++) q[i] = Math.round(v[i]! / scale);
  return { q, scale };
}

/** A vector quantised (see quantize) and encoded as base64, as stored. */
export function encodeVector(v: Float32Array): StoredVector {
  const { q, scale } = quantize(v);
  let binary = '';
  for (const b of new Uint8Array(q.buffer, q.byteOffset, q.length)) binary += String.fromCharCode(b);
  return { scale, vector: btoa(binary) };
}

export function decodeVector(stored: StoredVector): { q: Int8Array; scale: number } {
  const binary = atob(stored.vector);
  const q = new Int8Array(binary.length);
  for (let i = 0; i < binary.length; i++) q[i] = (binary.charCodeAt(i) << 24) >> 24;
  return { q, scale: Number(stored.scale) };
}

interface SessionVectors {
  /** Highest sequence read so far. */
  upTo: number;
  /** Ascending: each read appends only sequences above the last one held. */
  sequences: number[];
  /**
   * The vectors, one after another in `data` (`used` bytes of it): vector i runs from `starts[i]` to the next start.
   * One array per session instead of one per vector: a 100-byte Int8Array took ~450 bytes with its buffer.
   */
  data: Int8Array;
  used: number;
  starts: number[];
  scales: number[];
  /** What each turn's closeness adds to its cosine (closenessPrior); 0 for stored vectors (their text is not read). */
  priors: number[];
  bytes: number;
}

/** Sessions' vectors, least recently queried dropped first past `defaults.vectors.maxBytes`. */
const held = new SessionMemo<SessionVectors>((_, bytes) => bytes <= defaults.vectors.maxBytes);

/** Drops a session's vectors (on deletion: what was derived from its content must not outlive it here). */
export function forgetVectors(tenantId: string, sessionId: string): void {
  held.forget(tenantId, sessionId);
}

/** Sessions (per model) whose vectors this process holds, and their estimated bytes. */
export const vectorStats = () => {
  const { entries, size } = held.stats();
  return { sessions: entries, bytes: size };
};

export interface VectorSeedInput {
  store: Store;
  /** A stored embedder's vectors are read from the store; another's are computed here from the session's turns. */
  embedder: Embedder;
  source: Pick<TurnSource, 'conversation'>;
  /** The session, or a user's history read as one (`history_id` set; positions are history sequences). */
  session: MemoSession & { last_sequence: number; history_id?: string | undefined };
  query: string;
  count: number;
  /** False: scan every held vector exactly, without the SIMD scan that skips rows (tests compare the two). */
  simd?: boolean;
}

/** What a session's held vectors are read or computed from: everything a search takes but its query. */
export type HeldVectorInput = Omit<VectorSeedInput, 'query' | 'count' | 'simd'>;

/**
 * Brings the session's held vectors up to date with its newest turns, as the next search would (see prepareSearch),
 * when a search built them; false when none are held.
 */
export async function prepareVectors(input: HeldVectorInput): Promise<boolean> {
  if (!held.peek(input.session, input.embedder.model)) return false;
  await sessionVectors(input);
  return true;
}

async function sessionVectors(input: HeldVectorInput): Promise<SessionVectors> {
  const { window } = defaults.vectors;
  const s = input.session;
  let entry = held.peek(s, input.embedder.model);
  if (!entry)
    entry = {
      upTo: Math.max(0, s.last_sequence - window),
      sequences: [],
      data: new Int8Array(0),
      used: 0,
      starts: [],
      scales: [],
      priors: [],
      bytes: 0,
    };
  // Once it holds a quarter window more than the window, the vectors before the window go (into a new entry: a query
  // still reading this one keeps its positions), so a long-lived session's entry stays bounded.
  else if (s.last_sequence - (entry.sequences[0] ?? s.last_sequence) >= 1.25 * window)
    entry = withinWindow(entry, s.last_sequence - window, window);
  for (const r of await newVectors(input, entry.upTo)) {
    entry.sequences.push(r.sequence);
    entry.data = withRoom(entry.data, entry.used, entry.used + r.q.length, 4_096);
    entry.starts.push(entry.used);
    entry.data.set(r.q, entry.used);
    entry.used += r.q.length;
    entry.scales.push(r.scale);
    entry.priors.push(r.prior);
    // The vector, its entries in the lists, and the growing array's spare room (up to as much again).
    entry.bytes += 2 * r.q.length + 32;
  }
  // Stored vectors arrive after their turns: read again from the newest one. Computed ones cover every turn read.
  entry.upTo = input.embedder.stored ? (entry.sequences.at(-1) ?? entry.upTo) : s.last_sequence;
  held.set(s, input.embedder.model, entry, entry.bytes);
  return entry;
}

/**
 * A copy of the entry holding only the vectors of sequences after `oldest`, with room for those a quarter window adds
 * (until the next copy), so its array is not grown to twice its size on the way.
 */
function withinWindow(entry: SessionVectors, oldest: number, window: number): SessionVectors {
  const first = firstIndex(entry.sequences.length, (k) => entry.sequences[k]! > oldest);
  const from = entry.starts[first] ?? entry.used;
  const kept = entry.sequences.length - first;
  const used = entry.used - from;
  const data = new Int8Array(used + Math.ceil(window / 4 + 1) * (kept > 0 ? Math.ceil(used / kept) : 0));
  data.set(entry.data.subarray(from, entry.used));
  return {
    upTo: entry.upTo,
    sequences: entry.sequences.slice(first),
    data,
    used,
    starts: entry.starts.slice(first).map((x) => x - from),
    scales: entry.scales.slice(first),
    priors: entry.priors.slice(first),
    bytes: 2 * used + 32 * kept,
  };
}

/** The vectors of turns after `after`, up to the request's last sequence, oldest first. */
async function newVectors(
  input: HeldVectorInput,
  after: number,
): Promise<{ sequence: number; q: Int8Array; scale: number; prior: number }[]> {
  const s = input.session;
  // Nothing is newer than what the request's session row counts.
  if (after >= s.last_sequence) return [];
  if (input.embedder.stored) {
    // A history's vectors are its sessions' (stored per session), placed by the turns' history sequences.
    const rows = await readRows<{ sequence: number; scale: number; vector: string }>(
      input.store,
      s.history_id
        ? sql`
          SELECT t.history_sequence AS sequence, v.scale, v.vector FROM turns t
          JOIN turn_vectors v ON v.tenant_id = t.tenant_id AND v.session_id = t.session_id AND v.sequence = t.sequence
            AND v.model = ${input.embedder.model}
          WHERE t.tenant_id = ${s.tenantId} AND t.history_id = ${s.history_id}::uuid
            AND t.history_sequence > ${after} AND t.history_sequence <= ${s.last_sequence}
          ORDER BY t.history_sequence`
        : sql`
          SELECT sequence, scale, vector FROM turn_vectors
          WHERE tenant_id = ${s.tenantId} AND session_id = ${s.id} AND model = ${input.embedder.model}
            AND sequence > ${after} AND sequence <= ${s.last_sequence}
          ORDER BY sequence`,
    );
    return rows.map((r) => ({ sequence: Number(r.sequence), ...decodeVector(r), prior: 0 }));
  }
  const turns = (await input.source.conversation(after)).filter((t) => t.sequence <= s.last_sequence);
  const vectors = turns.length ? await input.embedder.embed(turns.map(embeddedText)) : [];
  return turns.map((t, i) => ({
    sequence: t.sequence,
    ...quantize(vectors[i]!),
    prior: closenessPrior(input.embedder, t.content),
  }));
}

/** Where a sequence is in an ascending list (binary search), or undefined. */
function indexOf(sequences: readonly number[], sequence: number): number | undefined {
  const i = firstIndex(sequences.length, (k) => sequences[k]! >= sequence);
  return sequences[i] === sequence ? i : undefined;
}

/** Held vector i's cosine with `q` (its int8 components summed in order, then scaled): the scan's and ranking's. */
function cosineAt(entry: SessionVectors, i: number, q: readonly number[]): number {
  const { data } = entry;
  const start = entry.starts[i]!;
  let s = 0;
  for (let d = 0; d < q.length; d++) s += data[start + d]! * q[d]!;
  return s * entry.scales[i]!;
}

/** Vectors a query already has: its own, and the stored ones of the session's turns (by sequence). */
export interface KnownVectors {
  query: Float32Array;
  /** The cosine of a turn's vector with the query's (on its int8 form), or undefined for a turn without one. */
  similarity(sequence: number): number | undefined;
}

/**
 * Up to `count` turns closest to the query in meaning (sequences, best first, among the session's newest), and the
 * vectors the search used, so ranking needs no second call to the model for the query or for stored turns.
 */
export async function vectorSeeds(input: VectorSeedInput): Promise<{ seeds: number[]; vectors?: KnownVectors }> {
  const [[query], entry] = await Promise.all([input.embedder.embed([input.query]), sessionVectors(input)]);
  if (!query) return { seeds: [] };
  // The query's components as plain numbers: the same values and products as read from the Float32Array, which
  // V8 reads more slowly in this loop (it runs over every held vector).
  const q = Array.from(query);
  // Each held vector's cosine as the scan below works it out (NaN: not scanned), read again by ranking's similarity.
  const scanned = new Float64Array(entry.sequences.length).fill(Number.NaN);
  const vectors: KnownVectors = {
    query,
    similarity(sequence) {
      const i = indexOf(entry.sequences, sequence);
      if (i === undefined) return undefined;
      // Read now (another request may have appended since): appending may move the vectors, never change them.
      if ((entry.starts[i + 1] ?? entry.used) - entry.starts[i]! !== q.length) return undefined;
      if (i < scanned.length && !Number.isNaN(scanned[i]!)) return scanned[i]!;
      return cosineAt(entry, i, q);
    },
  };
  const oldest = input.session.last_sequence - defaults.vectors.window;
  const best = nearest(entry, q, oldest, Math.max(0, input.count), scanned, input.simd ?? true);
  const seeds = best.map((b) => b.sequence);
  return { seeds, vectors };
}

/** The SIMD scan that narrows the search (undefined where WebAssembly cannot be compiled from bytes). */
let scan: ReturnType<typeof int8Scan> | null = null;
const simdScan = () => (scan === null ? (scan = int8Scan()) : scan);

/**
 * The best `count` held vectors by similarity to `q` (plus, for the bundled word vectors, how much a turn recounts;
 * ties: the newer turn) among those after `oldest`, kept in order while scanning: count is a few dozen. Each cosine
 * scanned is written to `scanned`. Rows that an integer scan shows cannot be among the best are skipped (`narrowed`).
 * A function of its own, so the scan's loop is optimised with the rest of it.
 */
function nearest(
  entry: SessionVectors,
  q: readonly number[],
  oldest: number,
  count: number,
  scanned: Float64Array,
  simd = true,
): { sequence: number; sim: number }[] {
  const best: { sequence: number; sim: number }[] = [];
  const first = firstIndex(entry.sequences.length, (k) => entry.sequences[k]! > oldest);
  const wanted = simd && count > 0 ? narrowed(entry, q, first, count) : undefined;
  for (let i = first; i < entry.sequences.length && count > 0; i++) {
    if (wanted && !wanted[i - first]) continue;
    const sequence = entry.sequences[i]!;
    if ((entry.starts[i + 1] ?? entry.used) - entry.starts[i]! !== q.length) continue;
    scanned[i] = cosineAt(entry, i, q);
    const sim = scanned[i]! + entry.priors[i]!;
    if (best.length === count && sim < best[count - 1]!.sim) continue;
    // Sequences rise, so a later turn with an equal score goes before the earlier one.
    let at = best.findIndex((b) => sim >= b.sim);
    if (at < 0) at = best.length;
    best.splice(at, 0, { sequence, sim });
    if (best.length > count) best.pop();
  }
  return best;
}

/**
 * Which rows from `first` on may be among the best `count` (by index from `first`), from an integer scan in SIMD with
 * the query rounded to int16: a row's scanned similarity is within a bound of its exact one (half a query step on
 * every component, times the largest |int8| sum), so a row whose upper bound is below the `count`-th best lower bound
 * is not among the best, and the exact scan skips it with the same result. Undefined where the scan cannot run, the
 * rows are not all of the query's width, or there are no more rows than wanted.
 */
function narrowed(entry: SessionVectors, q: readonly number[], first: number, count: number): Uint8Array | undefined {
  const n = entry.sequences.length - first;
  const dims = q.length;
  const kernel = n > count && dims > 0 ? simdScan() : undefined;
  if (!kernel) return undefined;
  const from = entry.starts[first]!;
  if (entry.used - from !== n * dims) return undefined;
  for (let i = first; i < entry.sequences.length; i++)
    if (entry.starts[i] !== from + (i - first) * dims) return undefined;
  let top = 0;
  for (const x of q) top = Math.max(top, Math.abs(x));
  if (!(top > 0 && Number.isFinite(top))) return undefined;
  const max = maxScanQuery(dims);
  const step = top / max;
  // Clamped: an Int16Array wraps what it cannot hold.
  const rounded = Int16Array.from(q, (x) => Math.max(-max, Math.min(max, Math.round(x / step))));
  const ints = kernel(entry.data.subarray(from, entry.used), dims, rounded);
  // |Σ data·(q − step·rounded)| ≤ step / 2 × 128 × dims, widened for the rounding of the sums in doubles.
  const slack = (step / 2) * 128 * dims * (1 + 1e-6) + 1e-9;
  const approx = new Float64Array(n);
  const bound = (i: number) => slack * Math.abs(entry.scales[first + i]!) + 1e-9;
  // The count-th best lower bound, from the best `count` lower bounds kept in ascending order.
  const lows = new Float64Array(count).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    approx[i] = ints[i]! * step * entry.scales[first + i]! + entry.priors[first + i]!;
    const low = approx[i]! - bound(i);
    if (low <= lows[0]!) continue;
    let k = 0;
    while (k + 1 < count && lows[k + 1]! < low) {
      lows[k] = lows[k + 1]!;
      k++;
    }
    lows[k] = low;
  }
  const threshold = lows[0]!;
  const wanted = new Uint8Array(n);
  for (let i = 0; i < n; i++) wanted[i] = approx[i]! + bound(i) >= threshold ? 1 : 0;
  return wanted;
}
