// The context inspector: lists sessions, asks the API for a session's context and explains it, with its trace. Plain
// browser JavaScript with no build step. API data is shown with textContent, never as HTML: turns are user data.

const SECTION_LABELS = {
  task_anchor: 'Task anchor',
  hard_constraints: 'Hard constraints',
  recent_turns: 'Recent turns',
  relevant_history: 'Relevant history',
  past_sessions: 'Earlier sessions',
  tool_findings: 'Tool findings',
  retrieved_memory: 'Retrieved memory',
  summary: 'Summary',
};

const REASONS = {
  over_budget: 'did not fit its share or what was left of the budget',
  duplicate: 'already shown in an earlier section',
  final_fit: 'removed so the rendered text fits the budget',
};

/** Turns fetched for previews of dropped items; bounded so a huge session stays quick to inspect. */
const PREVIEW_PAGES = 5;
const PAGE_SIZE = 200;

const $ = (id) => document.getElementById(id);
const form = $('query-form');
const statusLine = $('status');

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k === 'style') Object.assign(node.style, v);
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

const fmt = (n) => new Intl.NumberFormat().format(n);
const pct = (part, whole) => (whole > 0 ? Math.max(0, Math.min(100, (part / whole) * 100)) : 0);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');

class ApiFailure extends Error {
  constructor(status, code, message, requestId) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
  }
}

async function api(key, method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = json?.error;
    throw new ApiFailure(
      res.status,
      e?.code ?? `HTTP_${res.status}`,
      e?.message ?? text.slice(0, 200),
      e?.request_id ?? res.headers.get('x-request-id'),
    );
  }
  return json;
}

async function turnPreviews(key, sessionId) {
  const byId = new Map();
  let after = 0;
  for (let page = 0; page < PREVIEW_PAGES; page++) {
    const list = await api(
      key,
      'GET',
      `/v1/sessions/${encodeURIComponent(sessionId)}/turns?after_sequence=${after}&limit=${PAGE_SIZE}`,
    );
    for (const t of list.turns) byId.set(t.id, t);
    if (!list.next_cursor) break;
    after = Number(list.next_cursor);
  }
  return byId;
}

function setStatus(text, kind = '') {
  statusLine.textContent = text;
  statusLine.className = kind;
}

function renderOverview(answer, session) {
  const facts = $('overview-facts');
  facts.replaceChildren();
  const report = answer.envelope.budget_report;
  const rows = [
    [
      'Tokens',
      `${fmt(answer.token_count)} of ${fmt(report.budget_tokens - report.reserve_tokens)} available (budget ${fmt(report.budget_tokens)}, reserve ${fmt(report.reserve_tokens)})`,
    ],
    ['Frame', `${fmt(report.frame_tokens)} tokens of preamble, fences and reminder`],
    ['Cached', answer.cached ? 'yes, served from the cache' : 'no, assembled now'],
    ['Session', `${session.turn_count} turns, ${fmt(session.total_tokens)} tokens, version ${answer.session_version}`],
    [
      'Window',
      `limit ${fmt(session.window.max_tokens)} tokens, ${session.window.compression_strategy}; summary covers turns up to ${session.window.summarized_through}`,
    ],
  ];
  for (const [k, v] of rows) facts.append(el('dt', { text: k }), el('dd', { text: v }));
  // Each context is traced under its request id: the link shows the trace's stages below.
  const link = el('a', { class: 'trace-link', href: `#trace=${encodeURIComponent(answer.request_id)}`, text: 'trace' });
  link.addEventListener('click', (e) => {
    e.preventDefault();
    showTrace(answer.request_id);
  });
  facts.append(el('dt', { text: 'Request id' }), el('dd', {}, `${answer.request_id} `, link));
}

function stepDetail(step) {
  if (step.preview) return step.preview;
  if (!step.data) return '';
  return Object.entries(step.data)
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

async function showTrace(requestId) {
  const key = $('api-key').value.trim();
  setStatus('Reading the trace…', 'busy');
  try {
    const trace = await api(key, 'GET', `/v1/traces/${encodeURIComponent(requestId)}`);
    const facts = $('trace-facts');
    facts.replaceChildren();
    const rows = [
      ['Request id', trace.request_id],
      ['Source', `${trace.source}${trace.model_call_id ? `, model call ${trace.model_call_id}` : ''}`],
      ['Strategy', `${trace.strategy} / ${trace.variant}`],
      ['Tokens', `${fmt(trace.token_count)}${trace.overflow ? ' (over its budget)' : ''}`],
      ['At', when(trace.created_at)],
    ];
    for (const [k, v] of rows) facts.append(el('dt', { text: k }), el('dd', { text: v }));
    const body = $('trace-steps').tBodies[0];
    body.replaceChildren(
      ...trace.steps.map((step) =>
        el(
          'tr',
          { 'data-step': step.type },
          el('td', { class: 'num', text: String(step.seq) }),
          el('td', { text: step.actor }),
          el('td', { text: step.name ? `${step.type}: ${step.name}` : step.type }),
          el('td', { text: step.status ?? '' }),
          el('td', { class: 'num', text: step.duration_ms == null ? '' : step.duration_ms.toFixed(1) }),
          el('td', { class: 'detail', text: stepDetail(step) }),
        ),
      ),
    );
    $('trace-panel').hidden = false;
    setStatus(`Trace of request ${trace.request_id}: ${trace.steps.length} steps.`, 'ok');
  } catch (err) {
    showFailure(err);
  }
}

function showFailure(err) {
  if (err instanceof ApiFailure)
    setStatus(`${err.code}: ${err.message}${err.requestId ? ` (request ${err.requestId})` : ''}`, 'error');
  else setStatus(`Could not reach the API: ${err.message}`, 'error');
}

let nextSessions = null;

async function listSessions(event, more = false) {
  event?.preventDefault();
  const key = $('api-key').value.trim();
  if (!key) return setStatus('Type an API key first.', 'error');
  const params = new URLSearchParams({ limit: '20' });
  const user = $('filter-user').value.trim();
  const agent = $('filter-agent').value.trim();
  if (user) params.set('user_id', user);
  if (agent) params.set('agent_id', agent);
  if (more && nextSessions) params.set('cursor', nextSessions);
  setStatus('Listing sessions…', 'busy');
  try {
    const page = await api(key, 'GET', `/v1/sessions?${params}`);
    const body = $('sessions').tBodies[0];
    if (!more) body.replaceChildren();
    for (const s of page.sessions) {
      const open = el('button', { type: 'button', class: 'open', text: 'Inspect' });
      open.addEventListener('click', () => {
        $('session-id').value = s.session_id;
        form.requestSubmit();
      });
      body.append(
        el(
          'tr',
          { 'data-session': s.session_id },
          el('td', {}, el('code', { text: s.session_id })),
          el('td', { text: s.user_id ?? '' }),
          el('td', { text: s.agent_id ?? '' }),
          el('td', { class: 'num', text: fmt(s.turn_count) }),
          el('td', { class: 'num', text: fmt(s.total_tokens) }),
          el('td', { text: when(s.updated_at) }),
          el('td', {}, open),
        ),
      );
    }
    nextSessions = page.next_cursor;
    const none = body.rows.length === 0;
    $('sessions-empty').hidden = !none;
    $('sessions').hidden = none;
    $('more-sessions').hidden = !nextSessions;
    setStatus(`${body.rows.length} session${body.rows.length === 1 ? '' : 's'} listed.`, 'ok');
  } catch (err) {
    showFailure(err);
  }
}

function renderBudget(report) {
  const total = $('budget-total');
  const legend = $('budget-legend');
  total.replaceChildren();
  legend.replaceChildren();
  const budget = report.budget_tokens;
  const segment = (cls, tokens, label) => {
    if (tokens <= 0) return;
    total.append(
      el('span', {
        class: `seg ${cls}`,
        style: { width: `${pct(tokens, budget)}%` },
        title: `${label}: ${fmt(tokens)} tokens`,
      }),
    );
    legend.append(el('li', {}, el('span', { class: `swatch ${cls}` }), `${label} ${fmt(tokens)}`));
  };
  segment('frame', report.frame_tokens, 'Frame');
  for (const s of report.sections) segment(`sec-${s.section}`, s.used, SECTION_LABELS[s.section] ?? s.section);
  const unused = budget - report.reserve_tokens - report.used_tokens;
  segment('unused', unused, 'Unused');
  segment('reserve', report.reserve_tokens, 'Reserve');
  total.setAttribute('aria-label', `Used ${report.used_tokens} of ${budget} tokens`);

  const body = $('budget-sections').tBodies[0];
  body.replaceChildren();
  const scale = Math.max(1, ...report.sections.map((s) => Math.max(s.allotted, s.used)));
  for (const s of report.sections) {
    const over = s.used > s.allotted;
    const bar = el(
      'div',
      { class: 'bar', title: `allotted ${s.allotted}, used ${s.used}` },
      el('span', { class: 'allotted', style: { width: `${pct(s.allotted, scale)}%` } }),
      el('span', { class: `used sec-${s.section}${over ? ' over' : ''}`, style: { width: `${pct(s.used, scale)}%` } }),
    );
    body.append(
      el(
        'tr',
        { 'data-section': s.section },
        el('th', { scope: 'row', text: SECTION_LABELS[s.section] ?? s.section }),
        el('td', { class: 'bar-col' }, bar),
        el('td', { class: 'num', text: `${fmt(s.used)} / ${fmt(s.allotted)}` }),
        el('td', { class: 'num', text: String(s.kept) }),
        el('td', { class: 'num', text: String(s.dropped) }),
        el('td', { class: 'note', text: s.note + (over ? ' (took tokens left over by other sections)' : '') }),
      ),
    );
  }
}

function renderRendered(rendered) {
  $('rendered-text').textContent = rendered.text;
  const box = $('rendered-messages');
  box.replaceChildren(
    ...rendered.messages.map((m) =>
      el('article', { class: `message role-${m.role}` }, el('h3', { text: m.role }), el('pre', { text: m.content })),
    ),
  );
}

function renderDropped(report, previews) {
  const body = $('dropped').tBodies[0];
  body.replaceChildren();
  $('dropped-empty').hidden = report.dropped.length > 0;
  $('dropped').hidden = report.dropped.length === 0;
  for (const d of report.dropped) {
    const turn = previews.get(d.id);
    const item = turn
      ? `#${turn.sequence} ${turn.name ?? turn.role}: ${turn.content.length > 160 ? `${turn.content.slice(0, 160)}…` : turn.content}`
      : d.id;
    body.append(
      el(
        'tr',
        {},
        el('td', { text: SECTION_LABELS[d.section] ?? d.section }),
        el(
          'td',
          {},
          el('code', { class: `reason reason-${d.reason}`, title: REASONS[d.reason] ?? '', text: d.reason }),
          el('span', { class: 'muted', text: ` ${REASONS[d.reason] ?? ''}` }),
        ),
        el('td', { class: 'num', text: d.score.toFixed(3) }),
        el('td', { class: 'num', text: fmt(d.tokens) }),
        el('td', { class: 'item', text: item }),
      ),
    );
  }
}

function renderCompactions(list) {
  const ol = $('compactions');
  ol.replaceChildren();
  $('compactions-empty').hidden = list.length > 0;
  for (const c of list) {
    const ratio = c.tokens_before > 0 ? `${((c.tokens_after / c.tokens_before) * 100).toFixed(1)}%` : '–';
    ol.append(
      el(
        'li',
        { class: 'compaction' },
        el('time', { datetime: c.created_at, text: when(c.created_at) }),
        el(
          'div',
          { class: 'what' },
          el('strong', { text: `${c.strategy}` }),
          ` (${c.reason}) folded turns ${c.from_sequence}–${c.through_sequence} (${c.turn_count} turns): `,
          el('span', { class: 'tokens', text: `${fmt(c.tokens_before)} → ${fmt(c.tokens_after)} tokens (${ratio})` }),
          ` in ${Math.round(c.duration_ms)} ms${c.model ? ` with ${c.model}` : ''}`,
        ),
        el('details', {}, el('summary', { text: 'Output' }), el('pre', { text: c.output })),
      ),
    );
  }
}

function remember(values) {
  sessionStorage.setItem('inspector', JSON.stringify(values));
  // The link keeps everything but the key, so it can be shared or reloaded.
  const { key: _key, ...shareable } = values;
  history.replaceState(null, '', `#${new URLSearchParams(Object.entries(shareable).map(([k, v]) => [k, String(v)]))}`);
}

function restore() {
  let saved = {};
  try {
    saved = JSON.parse(sessionStorage.getItem('inspector') ?? '{}');
  } catch {
    saved = {};
  }
  const fromHash = Object.fromEntries(new URLSearchParams(location.hash.slice(1)));
  const v = { ...saved, ...fromHash };
  if (v.key) $('api-key').value = v.key;
  if (v.session) $('session-id').value = v.session;
  if (v.budget) $('budget').value = v.budget;
  if (v.reserve) $('reserve').value = v.reserve;
  if (v.query) $('query').value = v.query;
  if (v.template) $('template').value = v.template;
}

async function inspect(event) {
  event.preventDefault();
  const key = $('api-key').value.trim();
  const session = $('session-id').value.trim();
  const budget = Number($('budget').value);
  const reserve = Number($('reserve').value || 0);
  const query = $('query').value.trim();
  const template = $('template').value;
  remember({ key, session, budget, reserve, query, template });

  const button = $('inspect');
  button.disabled = true;
  setStatus('Asking for context…', 'busy');
  const base = `/v1/sessions/${encodeURIComponent(session)}`;
  try {
    const body = { budget_tokens: budget, reserve_tokens: reserve, template, ...(query ? { query } : {}) };
    const [answer, sessionView, compactions, previews] = await Promise.all([
      api(key, 'POST', `${base}/context`, body),
      api(key, 'GET', base),
      api(key, 'GET', `${base}/compactions`),
      turnPreviews(key, session),
    ]);
    renderOverview(answer, sessionView);
    renderBudget(answer.envelope.budget_report);
    renderRendered(answer.rendered);
    renderDropped(answer.envelope.budget_report, previews);
    renderCompactions(compactions.compactions);
    $('trace-panel').hidden = true;
    $('results').hidden = false;
    setStatus(`Context of ${fmt(answer.token_count)} tokens for session “${session}”.`, 'ok');
  } catch (err) {
    $('results').hidden = true;
    showFailure(err);
  } finally {
    button.disabled = false;
  }
}

function selectTab(which) {
  const text = which === 'text';
  $('tab-text').setAttribute('aria-selected', String(text));
  $('tab-messages').setAttribute('aria-selected', String(!text));
  $('rendered-text').hidden = !text;
  $('rendered-messages').hidden = text;
}

form.addEventListener('submit', inspect);
$('sessions-form').addEventListener('submit', (e) => listSessions(e));
$('more-sessions').addEventListener('click', () => listSessions(undefined, true));
$('tab-text').addEventListener('click', () => selectTab('text'));
$('tab-messages').addEventListener('click', () => selectTab('messages'));
restore();
