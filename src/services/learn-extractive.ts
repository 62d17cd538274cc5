// The offline path of memory learning: first-person statements of the user classified by patterns, then compared
// with the user's current memories (repeats dropped, a new value of the same slot supersedes the old). Deterministic.
import { defaults } from '../config/tuning.js';
import { sentences, terms } from '../pipeline/text.js';

export type LearnedKind = 'fact' | 'preference' | 'constraint' | 'task';

export interface LearnTurn {
  sequence: number;
  role: string;
  name: string | null;
  content: string;
  created_at: string;
}

/** A current memory of the user, as the learner compares new statements with it. */
export interface CurrentMemory {
  id: string;
  kind: string;
  content: string;
  origin: 'written' | 'learned';
  /** What the memory is the value of (`self:residence`), for extractively learned ones that have one. */
  slot: string | null;
  valid_from: string;
}

export interface Statement {
  kind: LearnedKind;
  content: string;
  sequences: number[];
  validFrom: string;
  slot?: string;
}

/** A memory to store; `supersededBy` and `validTo` are set when a later statement of the same batch replaces it. */
export interface NewMemory extends Statement {
  id: string;
  supersededBy?: string;
  validTo?: string;
}

/** A current memory whose validity ends: replaced by a new one, or (without `supersededBy`) no longer true. */
export interface EndedMemory {
  id: string;
  supersededBy: string | null;
  at: string;
}

export interface LearnPlan {
  inserts: NewMemory[];
  ends: EndedMemory[];
}

/** A non-capturing group of alternatives, each written as a regular expression. */
const any = (alternatives: string) => `(?:${alternatives.trim().split(/\s+/).join('|')})`;
const re = (source: string) => new RegExp(source, 'i');

const FIRST_PERSON = /\b(i|i'm|i’m|im|i've|i’ve|i'd|i’d|me|my|mine|we|we're|we’re|we've|our|us)\b/i;
/** A standing instruction to the assistant: "never book…", "always use…", "don't call…" (not "never say never"). */
const ASSISTANT_ACTIONS = any(String.raw`book schedule call email text message send share contact use suggest recommend
  order buy add include give(?!\s+up) show mention put reserve charge pay reply respond bring serve offer assume change
  cancel delete remove post tell ask wake disturb pick seat`);
const IMPERATIVE = re(
  String.raw`^(?:please\s+)?(?:don'?t|don’t|do not|never|always)\s+(?:ever\s+)?${ASSISTANT_ACTIONS}\b`,
);
const SUBJECT = String.raw`(i|we|my (?:\w+ ){0,2}?\w+)`;
const BE = String.raw`(?:'m|’m|'re|’re|'s|’s|\s+am|\s+are|\s+is)`;
const NOW = String.raw`(?:(?:now|currently|still|recently|just|finally)\s+)?`;

/** Residence: "we live in", "I moved to", "my sister lives in"; `used to` is history, not the current value. */
const RESIDENCE = [
  re(String.raw`\b${SUBJECT}\s+${NOW}${any('live lives moved relocated settled')}\s+(?:back\s+)?(?:in|to)\b`),
  re(String.raw`\b${SUBJECT}${BE}\s+${NOW}${any('living based settled')}\s+in\b`),
];
const WORK = [
  re(String.raw`\b${SUBJECT}\s+${NOW}(?:work|works|started working|got a job)\s+(?:at|for|as|in)\b`),
  re(String.raw`\b${SUBJECT}${BE}\s+${NOW}(?:working|employed)\s+(?:at|for|as|in)\b`),
];
const NAME = /\b(?:my name is|i'm called|i am called|call me)\s+\p{Lu}/iu;

const CANNOT = any(String.raw`can'?t can’t cannot can\s+not must\s+not mustn'?t won'?t will\s+not do\s+not don'?t
  don’t never`);
const LIMITED = any('eat drink have take fly drive travel walk climb use work afford stand tolerate');
const CONSTRAINT = [
  /\b(?:allergic|allerg(?:y|ies))\s+to\b|\b(?:intoleran(?:t|ce)|celiac|coeliac|diabetic|epileptic)\b/i,
  re(String.raw`\b(?:i|we)${BE}\s+(?:strictly\s+)?${any('vegan vegetarian pescatarian kosher halal')}\b`),
  re(String.raw`\b(?:i|we)\s+${CANNOT}\s+${LIMITED}\b`),
  /\b(?:my|our) budget\b/i,
];
const LIKE = any('prefer like love enjoy adore hate dislike detest');
const PREFERENCE = [
  re(String.raw`\b(?:i|we)\s+(?:${any('really much generally usually also just absolutely')}\s+)?${LIKE}\b`),
  /\b(?:i|we)\s+(?:don'?t|don’t|do not)\s+(?:really\s+)?(?:like|enjoy|love)\b/i,
  /\b(?:i'd|i’d|i would|we'd|we would)\s+(?:rather|prefer)\b/i,
  /\b(?:my|our) favou?rite\b/i,
  re(String.raw`\b(?:i|we)${BE}\s+(?:a\s+)?(?:big\s+|huge\s+)?fans?\s+of\b`),
];
const PLAN = any(String.raw`need\s+to have\s+to got\s+to plan\s+to planning\s+to going\s+to hoping\s+to intend\s+to
  want\s+to would\s+like\s+to moving\s+to`);
const TASK = [
  re(String.raw`\b(?:i|we)(?:${BE})?\s+(?:still\s+|really\s+)?${PLAN}\b`),
  /\b(?:i'd|i’d|we'd|we’d) like to\b/i,
  /(?:^|\bplease\s+|\byou\s+)remind me to\b/i,
];
/** "I love it", "I like that idea", "I love how you…": a reaction to what was just said, not a lasting preference. */
const SAID = any('it that this them those these you');
const REACTION = re(
  String.raw`\b${LIKE}\s+(?:${SAID}(?:\s+${any(String.raw`idea one plan a\s+lot so\s+much too`)})?\s*[.!]*$` +
    String.raw`|(?:${any('that how what when')}\s+)?(?:you|your)\b)`,
);
/** "I want to know…", "I'm going to ask…": talk about the conversation itself, not a plan. */
const CHATTER = /\b(?:to|me)\s+(?:know|ask|say|tell|check|see|think|understand|clarify|confirm|mention)\b/i;
const RELATIONS = any(String.raw`daughter son wife husband partner girlfriend boyfriend fianc[eé]e? mother mom mum
  father dad parents sister brother kids? children child baby dog cat pet grand(?:ma|pa|mother|father) aunt uncle
  cousin niece nephew (?:best\s+)?friend boss roommate`);
const FAMILY = any('kids? children sons? daughters? dogs? cats? pets? brothers? sisters? grandchildren');
const FACT = [
  NAME,
  re(String.raw`\bmy ${RELATIONS}s?\b`),
  re(String.raw`\b(?:i|we)\s+(?:have|got)\s+(?:a|an|one|two|three|four|five|\d+)\s+${FAMILY}\b`),
  re(String.raw`\b(?:i|we)${BE}\s+(?:\d+|[a-z]+(?:-[a-z]+)?)\s+years?\s+old\b`),
  /\bmy birthday\b|\bi was born\b/i,
  re(String.raw`\b(?:i|we)${BE}\s+(?:now\s+)?${any('married divorced single engaged pregnant retired widowed')}\b`),
  /\b(?:i|we)(?:'m|’m|'re|’re|\s+am|\s+are)\s+from\b/i,
];

/** `self` for the speaker (and their household), else the relation named: `my sister` → `sister`. */
function subjectOf(match: RegExpMatchArray): string {
  const s = match[1]!.toLowerCase().replace(/\s+/g, ' ');
  return s === 'i' || s === 'we' ? 'self' : s.replace(/^my /, '');
}

function slotOf(sentence: string): string | undefined {
  if (/\bused to\b/i.test(sentence)) return undefined;
  if (NAME.test(sentence)) return 'self:name';
  for (const re of RESIDENCE) {
    const m = sentence.match(re);
    if (m) return `${subjectOf(m)}:residence`;
  }
  for (const re of WORK) {
    const m = sentence.match(re);
    if (m) return `${subjectOf(m)}:work`;
  }
  return undefined;
}

/** The kind of a first-person statement, or undefined when it states nothing durable. */
export function classify(sentence: string): { kind: LearnedKind; slot?: string } | undefined {
  if (sentence.endsWith('?')) return undefined;
  const imperative = IMPERATIVE.test(sentence);
  if (!imperative && !FIRST_PERSON.test(sentence)) return undefined;
  if (imperative || CONSTRAINT.some((re) => re.test(sentence))) return { kind: 'constraint' };
  const slot = slotOf(sentence);
  // A move announced for later is a plan; once it happened, or where one lives now, it is the slot's value.
  if (/\b(?:moving|will move|going to move|plan(?:ning)? to move)\s+to\b/i.test(sentence)) return { kind: 'task' };
  if (slot) return { kind: 'fact', slot };
  if (PREFERENCE.some((re) => re.test(sentence))) return REACTION.test(sentence) ? undefined : { kind: 'preference' };
  if (TASK.some((re) => re.test(sentence)) && !CHATTER.test(sentence)) return { kind: 'task' };
  if (FACT.some((re) => re.test(sentence))) return { kind: 'fact' };
  return undefined;
}

/** The durable statements of the user's turns, in order; the assistant's turns state nothing about the user. */
export function extractStatements(turns: readonly LearnTurn[]): Statement[] {
  const out: Statement[] = [];
  for (const t of turns) {
    if (t.role !== 'user') continue;
    const speaker = t.name?.replace(/\s+/g, ' ').trim();
    for (const raw of sentences(t.content)) {
      const sentence = raw.replace(/\s+/g, ' ').trim();
      if (sentence.length < 8 || sentence.length > defaults.learn.maxStatementChars) continue;
      if (terms(sentence).length < 2) continue;
      const c = classify(sentence);
      if (!c) continue;
      out.push({
        kind: c.kind,
        content: speaker ? `${speaker}: ${sentence}` : sentence,
        sequences: [t.sequence],
        validFrom: t.created_at,
        ...(c.slot
          ? { slot: speaker && c.slot.startsWith('self:') ? `${speaker.toLowerCase()}/${c.slot}` : c.slot }
          : {}),
      });
    }
  }
  return out;
}

/** Words that frame a statement without adding to it ("as I said", "by the way", "quick update"). */
const FILLER = new Set(
  (
    'said say saying way actually really just well quick update mentioned told tell yes yeah oh anyway btw guess ' +
    'think still again remember already now also though honestly'
  ).split(' '),
);

/** Content words with a plural `s` dropped: what two statements are compared on. */
function wordsOf(text: string): Set<string> {
  return new Set(
    terms(text)
      .filter((w) => !FILLER.has(w))
      .map((w) => (w.length > 3 && w.endsWith('s') ? w.slice(0, -1) : w)),
  );
}

function overlap(a: Set<string>, b: Set<string>): number {
  let shared = 0;
  for (const w of a) if (b.has(w)) shared += 1;
  const union = a.size + b.size - shared;
  return union === 0 ? 1 : shared / union;
}

const contains = (big: Set<string>, small: Set<string>) => small.size > 0 && [...small].every((w) => big.has(w));

/**
 * What to store and what to end: a statement that repeats a current memory (or one stated earlier in the batch) is
 * dropped; one that gives a slot a new value, or restates a learned memory with more words, supersedes it. Only
 * learned memories are ended: what a caller wrote stays as written.
 */
export function planStatements(
  statements: readonly Statement[],
  current: readonly CurrentMemory[],
  newId: () => string,
): LearnPlan {
  const inserts: NewMemory[] = [];
  const ends: EndedMemory[] = [];
  const open = current.map((m) => ({ memory: m, words: wordsOf(m.content), ended: false }));
  const added: { memory: NewMemory; words: Set<string> }[] = [];
  for (const s of statements) {
    const words = wordsOf(s.content);
    // Nothing new (its words all said before), or nearly the same words without saying more than the other did.
    const repeats = (w: Set<string>) =>
      contains(w, words) ||
      (!(w.size >= 3 && contains(words, w)) && overlap(words, w) >= defaults.learn.duplicateOverlap);
    if (open.some((o) => !o.ended && repeats(o.words)) || added.some((a) => !a.memory.validTo && repeats(a.words)))
      continue;
    const memory: NewMemory = { ...s, id: newId() };
    const replaces = (slot: string | null | undefined, w: Set<string>, origin: string) =>
      origin === 'learned' && ((s.slot !== undefined && slot === s.slot) || (w.size >= 3 && contains(words, w)));
    for (const o of open) {
      if (o.ended || !replaces(o.memory.slot, o.words, o.memory.origin)) continue;
      o.ended = true;
      ends.push({ id: o.memory.id, supersededBy: memory.id, at: s.validFrom });
    }
    for (const a of added) {
      if (a.memory.validTo || !replaces(a.memory.slot, a.words, 'learned')) continue;
      a.memory.validTo = s.validFrom;
      a.memory.supersededBy = memory.id;
    }
    inserts.push(memory);
    added.push({ memory, words });
  }
  return { inserts, ends };
}
