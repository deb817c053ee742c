// queuectl dashboard: vanilla JS, no build step. Every value from the server reaches the page through textContent or
// an attribute set by the DOM API, never through HTML parsing, so a command or output holding markup shows as text.
'use strict';

const STATES = ['waiting', 'pending', 'processing', 'completed', 'failed', 'dead', 'cancelled'];
const main = document.getElementById('main');
const banner = document.getElementById('banner');
let stopView = () => {};

// --- DOM helpers --------------------------------------------------------------------------------------------------

/** el('td', { class: 'cmd' }, 'text', child…): strings become text nodes. */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
const svg = (tag, attrs) => {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
};
const stateBadge = (state) => el('span', { class: `state s-${state}`, 'data-state': state }, state);
const jobLink = (id) => el('a', { href: `#/job/${encodeURIComponent(id)}` }, id);
/** Links to several jobs, separated by spaces (the jobs a worker runs). */
const jobLinks = (ids) => ids.flatMap((id, i) => (i === 0 ? [jobLink(id)] : [' ', jobLink(id)]));
function show(...nodes) {
  main.replaceChildren(...nodes);
}

function ago(iso, now = Date.now()) {
  if (!iso) return '-';
  return `${duration(Math.max(0, now - Date.parse(iso)))} ago`;
}
function duration(ms) {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return h < 24 ? `${h}h${String(m % 60).padStart(2, '0')}m` : `${Math.floor(h / 24)}d${h % 24}h`;
}
const percent = (rate) => (rate === null ? '-' : `${(rate * 100).toFixed(1)}%`);

// --- The API --------------------------------------------------------------------------------------------------------

class ApiError extends Error {}

/** Calls the API; a store outage (503) or a lost server shows the banner, which the next good answer clears. */
async function api(path, options = {}) {
  const init = { method: options.method || 'GET', headers: {}, credentials: 'same-origin' };
  if (init.method === 'POST') {
    init.headers['content-type'] = 'application/json';
    init.headers['x-queuectl'] = '1';
    init.body = JSON.stringify(options.body || {});
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    setBanner('The dashboard server cannot be reached. Retrying…');
    throw new ApiError('the dashboard server cannot be reached');
  }
  const data = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (res.status === 503) {
    setBanner(`The store is unavailable: ${data.error}. Retrying…`);
    throw new ApiError(data.error);
  }
  setBanner(null);
  if (!res.ok) throw new ApiError(data.error || `HTTP ${res.status}`);
  return data;
}
function setBanner(text) {
  banner.hidden = text === null;
  banner.textContent = text || '';
}
const post = (path, body) => api(path, { method: 'POST', body });

/** Runs `tick` now and every `ms` until the view changes; errors are shown by api() and retried. */
function every(ms, tick) {
  let timer = null;
  let stopped = false;
  const run = async () => {
    try {
      await tick();
    } catch (err) {
      if (!(err instanceof ApiError)) console.error(err);
    }
    if (!stopped) timer = setTimeout(run, ms);
  };
  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
function notice(text, kind) {
  return el('div', { class: `notice ${kind || ''}`, role: 'status' }, text);
}

// --- Overview -----------------------------------------------------------------------------------------------------

function overviewView() {
  const cards = el('div', { class: 'grid cards' });
  const figures = el('div', { class: 'figures' });
  const chart = el('div');
  const workers = el('div');
  show(
    el('h1', {}, el('span', { class: 'live', title: 'refreshed every 2 seconds' }), 'Overview'),
    cards,
    el('div', { class: 'grid two' },
      el('section', { class: 'panel' }, el('h2', {}, 'Finished per minute, last hour'), chart, figures),
      el('section', { class: 'panel' }, el('h2', {}, 'Workers'), workers)),
  );
  return every(2000, async () => {
    const o = await api('/api/overview');
    document.getElementById('store').textContent = o.store;
    cards.replaceChildren(...STATES.map((state) =>
      el('a', { class: 'panel card', href: `#/jobs?state=${state}`, 'data-count': state },
        el('div', { class: 'label' }, state),
        el('div', { class: `value s-${state}` }, `${o.jobs[state].toLocaleString()}${o.jobs_capped.includes(state) ? '+' : ''}`))));
    const f = o.finished;
    const d = f.duration_ms;
    figures.replaceChildren(
      el('span', {}, 'per minute ', el('b', {}, f.per_minute)),
      el('span', {}, 'succeeded ', el('b', {}, f.succeeded), ` (${percent(f.success_rate)})`),
      el('span', {}, 'failed ', el('b', {}, f.failed), ` (${percent(f.failure_rate)})`),
      el('span', {}, 'run time p50 ', el('b', {}, d ? duration(d.p50) : '-'), ' p95 ', el('b', {}, d ? duration(d.p95) : '-'), ' max ', el('b', {}, d ? duration(d.max) : '-')),
      el('span', {}, 'oldest pending ', el('b', {}, o.oldest_pending_age_seconds === null ? '-' : duration(o.oldest_pending_age_seconds * 1000))),
    );
    chart.replaceChildren(minuteChart(f.minutes, Date.parse(o.now)), el('div', { class: 'legend' },
      el('span', {}, el('i', { class: 'ok' }), 'succeeded'), el('span', {}, el('i', { class: 'bad' }), 'failed')));
    const now = Date.parse(o.now);
    const live = o.workers.filter((w) => w.state !== 'gone');
    workers.replaceChildren(live.length === 0 ? el('p', { class: 'muted' }, 'No worker is running. Start one with queuectl worker start.') :
      el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'worker'), el('th', {}, 'state'), el('th', {}, 'heartbeat'), el('th', {}, 'jobs'))),
        el('tbody', {}, live.map((w) => el('tr', {},
          el('td', { class: 'mono', title: `${w.host} pid ${w.pid}${w.queues ? `, queues ${w.queues.join(', ')}` : ''}` }, w.id),
          el('td', {}, `${w.state} ${w.running_jobs.length}/${w.concurrency}`),
          el('td', {}, ago(w.last_heartbeat, now)), el('td', {}, w.running_jobs.length === 0 ? '-' : jobLinks(w.running_jobs)))))));
  });
}

/** 60 one-minute bars (successes under failures), the newest on the right; drawn as SVG, no library. */
function minuteChart(minutes, now) {
  const W = 600, H = 120, bars = 60, gap = 2, bw = W / bars;
  const end = Math.floor(now / 60000) * 60000;
  const byMinute = new Map(minutes.map((m) => [Date.parse(m.at), m]));
  const series = Array.from({ length: bars }, (_, i) => byMinute.get(end - (bars - 1 - i) * 60000) || { succeeded: 0, failed: 0 });
  const top = Math.max(1, ...series.map((m) => m.succeeded + m.failed));
  const root = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H + 14}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': 'jobs finished per minute' });
  root.append(svg('line', { class: 'axis', x1: 0, x2: W, y1: H + 0.5, y2: H + 0.5 }));
  series.forEach((m, i) => {
    const okH = (m.succeeded / top) * H, badH = (m.failed / top) * H;
    const x = i * bw + gap / 2;
    if (okH > 0) root.append(svg('rect', { class: 'ok', x, y: H - okH, width: bw - gap, height: okH }));
    if (badH > 0) root.append(svg('rect', { class: 'bad', x, y: H - okH - badH, width: bw - gap, height: badH }));
  });
  const label = (x, text, anchor) => { const t = svg('text', { x, y: H + 12, 'text-anchor': anchor }); t.textContent = text; root.append(t); };
  label(0, '60 min ago', 'start');
  label(W, `now (peak ${top}/min)`, 'end');
  return root;
}

// --- Jobs -----------------------------------------------------------------------------------------------------------

function jobsView(params) {
  const state = params.get('state') || '';
  const search = params.get('search') || '';
  const cursors = (params.get('after') || '').split(',').filter(Boolean);
  const select = el('select', { 'aria-label': 'state' }, el('option', { value: '' }, 'all states'), STATES.map((s) => el('option', { value: s, selected: s === state }, s)));
  const input = el('input', { type: 'search', placeholder: 'search id or command', value: search, 'aria-label': 'search' });
  const go = (after) => {
    const q = new URLSearchParams();
    if (select.value) q.set('state', select.value);
    if (input.value) q.set('search', input.value);
    if (after && after.length) q.set('after', after.join(','));
    location.hash = `#/jobs?${q}`;
  };
  select.addEventListener('change', () => go());
  input.addEventListener('keydown', (e) => e.key === 'Enter' && go());
  const body = el('div', {}, el('p', { class: 'muted' }, 'Loading…'));
  show(el('h1', {}, 'Jobs'), el('div', { class: 'toolbar' }, select, input, el('button', { onclick: () => go() }, 'Search')), el('section', { class: 'panel' }, body));
  (async () => {
    const q = new URLSearchParams({ limit: '50' });
    if (state) q.set('state', state);
    if (search) q.set('search', search);
    if (cursors.length) q.set('after', cursors[cursors.length - 1]);
    const page = await api(`/api/jobs?${q}`);
    body.replaceChildren(jobTable(page.jobs), el('div', { class: 'pager' },
      el('button', { disabled: cursors.length === 0, onclick: () => go(cursors.slice(0, -1)) }, '← Newer'),
      el('button', { disabled: page.next === null, onclick: () => go([...cursors, page.next]) }, 'Older →')));
  })().catch((err) => body.replaceChildren(notice(err.message, 'error')));
  return () => {};
}

function jobTable(jobs, actions) {
  if (jobs.length === 0) return el('p', { class: 'muted' }, 'No jobs.');
  return el('table', {},
    el('thead', {}, el('tr', {}, ['id', 'state', 'attempts', 'created', 'command', actions ? '' : null].filter((h) => h !== null).map((h) => el('th', {}, h)))),
    el('tbody', {}, jobs.map((job) => el('tr', { 'data-job': job.id },
      el('td', { class: 'mono' }, jobLink(job.id)), el('td', {}, stateBadge(job.state)), el('td', {}, `${job.attempts}/${job.max_retries + 1}`),
      el('td', { title: job.created_at }, ago(job.created_at)), el('td', { class: 'cmd', title: job.command }, job.command),
      actions ? el('td', {}, actions(job)) : null))));
}

// --- One job --------------------------------------------------------------------------------------------------------

function jobView(id) {
  const fields = el('dl', { class: 'fields' });
  const actions = el('div', { class: 'toolbar' });
  const attempts = el('div');
  const output = el('pre', { class: 'output', 'aria-label': 'output' });
  const outputTitle = el('h2', {}, 'Output');
  const message = el('div');
  show(el('h1', { class: 'mono' }, id), message, actions,
    el('div', { class: 'grid two' }, el('section', { class: 'panel' }, el('h2', {}, 'Job'), fields), el('section', { class: 'panel' }, el('h2', {}, 'Attempts'), attempts)),
    el('section', { class: 'panel spaced' }, outputTitle, output));
  let attempt = null, after = 0, lastState = null, running = false;
  const act = async (label, fn) => {
    try {
      await fn();
      message.replaceChildren(notice(`${label}: done`));
      lastState = null;
    } catch (err) {
      message.replaceChildren(notice(`${label}: ${err.message}`, 'error'));
    }
  };
  const path = `/api/jobs/${encodeURIComponent(id)}`;
  return every(1000, async () => {
    if (lastState === null || running || lastState === 'pending' || lastState === 'waiting' || lastState === 'failed') {
      let shown;
      try {
        shown = await api(path);
      } catch (err) {
        if (!banner.hidden) throw err;
        fields.replaceChildren(el('dd', {}, err.message));
        return;
      }
      const { job } = shown;
      const rows = [['state', stateBadge(job.state)], ['command', el('span', { class: 'mono' }, job.command)], ['attempts', `${job.attempts} of ${job.max_retries + 1}`],
        ['priority', job.priority], ['created', job.created_at], ['run at', job.run_at], ['finished', job.finished_at || '-'], ['worker', job.worker_id || '-'],
        ['exit code', job.exit_code === null ? '-' : job.exit_code], ['last error', job.last_error || '-'], ['timeout', job.timeout === null ? '-' : `${job.timeout}s`],
        ['cwd', job.cwd || '-'], ['depends on', job.depends_on.length ? job.depends_on.join(', ') : '-']];
      fields.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
      const buttons = [];
      if (['waiting', 'pending', 'failed', 'processing'].includes(job.state)) {
        buttons.push(el('button', { class: 'danger', onclick: () => act('Cancel', () => post(`${path}/cancel`, {})) }, 'Cancel'));
      }
      if (job.state === 'dead') {
        buttons.push(el('button', { class: 'primary', onclick: () => act('Retry', () => post('/api/dlq/retry', { ids: [id] })) }, 'Retry'));
        buttons.push(el('button', { class: 'danger', onclick: () => act('Delete', async () => { await post('/api/dlq/delete', { ids: [id] }); location.hash = '#/dlq'; }) }, 'Delete'));
      }
      actions.replaceChildren(...buttons);
      attempts.replaceChildren(shown.attempts.length === 0 ? el('p', { class: 'muted' }, 'Not run yet.') : el('table', {},
        el('thead', {}, el('tr', {}, ['#', 'outcome', 'exit', 'started', 'took', 'worker'].map((h) => el('th', {}, h)))),
        el('tbody', {}, shown.attempts.map((a) => el('tr', {}, el('td', {}, a.attempt), el('td', {}, a.outcome || 'running'), el('td', {}, a.exit_code ?? a.signal ?? '-'),
          el('td', { title: a.started_at }, ago(a.started_at)), el('td', {}, a.finished_at ? duration(Date.parse(a.finished_at) - Date.parse(a.started_at)) : '-'),
          el('td', { class: 'mono' }, a.worker_id))))));
      const last = shown.attempts[shown.attempts.length - 1];
      if (last && last.attempt !== attempt) {
        attempt = last.attempt;
        after = 0;
        output.replaceChildren();
      }
      lastState = job.state;
    }
    if (attempt === null) {
      outputTitle.textContent = 'Output';
      if (!output.textContent) output.textContent = '(no output yet)';
      return;
    }
    const out = await api(`${path}/output?attempt=${attempt}&after=${after}`);
    if (after === 0 && out.chunks.length) output.replaceChildren();
    for (const chunk of out.chunks) {
      output.append(el('span', { class: chunk.stream }, chunk.data));
      after = chunk.seq;
    }
    if (after === 0 && !out.running && !output.textContent) output.textContent = '(no output)';
    const stuck = output.scrollTop + output.clientHeight >= output.scrollHeight - 40;
    if (stuck) output.scrollTop = output.scrollHeight;
    running = out.running;
    outputTitle.replaceChildren(running ? el('span', { class: 'live' }) : '', `Output, attempt ${attempt}${running ? ' (following)' : ''}${out.truncated ? ' (start truncated)' : ''}`);
  });
}

// --- Dead letters, enqueue, config ---------------------------------------------------------------------------------

function dlqView() {
  const body = el('div', {}, el('p', { class: 'muted' }, 'Loading…'));
  const message = el('div');
  const load = async () => {
    const page = await api('/api/dlq?limit=100');
    body.replaceChildren(jobTable(page.jobs, (job) => [
      el('button', { class: 'primary', onclick: () => run('Retry', () => post('/api/dlq/retry', { ids: [job.id] })) }, 'Retry'), ' ',
      el('button', { class: 'danger', onclick: () => run('Delete', () => post('/api/dlq/delete', { ids: [job.id] })) }, 'Delete')]),
      page.next ? el('p', { class: 'muted' }, 'Showing the newest 100 dead jobs.') : '');
  };
  const run = async (label, fn) => {
    try {
      const result = await fn();
      const n = (result.retried || result.deleted || []).length;
      message.replaceChildren(notice(`${label}: ${n} job${n === 1 ? '' : 's'}`));
    } catch (err) {
      message.replaceChildren(notice(`${label}: ${err.message}`, 'error'));
    }
    await load().catch(() => {});
  };
  show(el('h1', {}, 'Dead letters'), message,
    el('div', { class: 'toolbar' }, el('button', { onclick: () => confirm('Retry every dead job?') && run('Retry all', () => post('/api/dlq/retry', { all: true })) }, 'Retry all')),
    el('section', { class: 'panel' }, body));
  return every(3000, load);
}

function enqueueView() {
  const input = (name, attrs) => el('input', { name, id: `f-${name}`, ...attrs });
  const form = el('form', { class: 'panel' },
    el('div', { class: 'form' },
      el('label', { for: 'f-command' }, 'Command'), el('textarea', { name: 'command', id: 'f-command', required: true, placeholder: 'echo hello' }),
      el('label', { for: 'f-id' }, 'Id (optional)'), input('id', { placeholder: 'a short random id' }),
      el('label', { for: 'f-priority' }, 'Priority'), input('priority', { type: 'number', value: '0' }),
      el('label', { for: 'f-max_retries' }, 'Max retries'), input('max_retries', { type: 'number', min: '0', placeholder: 'config default' }),
      el('label', { for: 'f-delay' }, 'Delay (seconds)'), input('delay', { type: 'number', min: '0', placeholder: '0' }),
      el('label', { for: 'f-timeout' }, 'Timeout (seconds)'), input('timeout', { type: 'number', min: '0', placeholder: 'config default' }),
      el('span'), el('div', {}, el('button', { class: 'primary', type: 'submit' }, 'Enqueue'))));
  const message = el('div');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const spec = { command: data.get('command') };
    for (const key of ['id']) if (data.get(key)) spec[key] = data.get(key);
    for (const key of ['priority', 'max_retries', 'delay', 'timeout']) if (data.get(key) !== '') spec[key] = Number(data.get(key));
    try {
      const { job } = await post('/api/jobs', spec);
      location.hash = `#/job/${encodeURIComponent(job.id)}`;
    } catch (err) {
      message.replaceChildren(notice(err.message, 'error'));
    }
  });
  show(el('h1', {}, 'Enqueue a job'), message, form, el('p', { class: 'muted' }, 'The job runs in the directory the dashboard was started in.'));
  return () => {};
}

function configView() {
  const body = el('div');
  show(el('h1', {}, 'Config'), el('p', { class: 'muted' }, 'Read-only here; change it with queuectl config set KEY VALUE.'), el('section', { class: 'panel' }, body));
  api('/api/config').then(({ config }) => body.replaceChildren(el('table', {},
    el('thead', {}, el('tr', {}, ['key', 'value', 'source', ''].map((h) => el('th', {}, h)))),
    el('tbody', {}, config.map((c) => el('tr', {}, el('td', { class: 'mono' }, c.key), el('td', { class: 'mono' }, c.value), el('td', {}, c.source), el('td', { class: 'muted' }, c.description)))))),
  ).catch((err) => body.replaceChildren(notice(err.message, 'error')));
  return () => {};
}

// --- Routing (#/…) --------------------------------------------------------------------------------------------------

function route() {
  stopView();
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?');
  const params = new URLSearchParams(query || '');
  const section = path.startsWith('/job/') ? 'jobs' : path.slice(1) || 'overview';
  for (const link of document.querySelectorAll('nav a')) link.classList.toggle('active', link.dataset.nav === section);
  if (path.startsWith('/job/')) stopView = jobView(decodeURIComponent(path.slice('/job/'.length)));
  else if (path === '/jobs') stopView = jobsView(params);
  else if (path === '/dlq') stopView = dlqView();
  else if (path === '/enqueue') stopView = enqueueView();
  else if (path === '/config') stopView = configView();
  else stopView = overviewView();
}
window.addEventListener('hashchange', route);
route();
