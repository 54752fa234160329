/*
 * embed-element.js: the <dashd-chart> element. Served as part of /embed.js,
 * which wraps dashd-core.js, dashd-paint.js and this file in one function,
 * so that nothing is declared in the host page but the element itself.
 *
 *   <script src="https://dashd.example/embed.js" async></script>
 *   <dashd-chart chart="req-by-route" token="…" theme="dark" tz="UTC"></dashd-chart>
 *
 * paint="fresh" draws every frame of the chart while it is on screen,
 * without the paint budget that spares the CPU of a page of many charts
 * (issue 17); any other value, or none, keeps the budget.
 *
 * at="T" (RFC 3339, or a Unix number in s or ms) shows the chart as it was
 * at T, paused (GET …/frame?at=T); removing it goes live. pause() holds
 * the picture while samples arrive, live() shows the newest (and drops at).
 *
 * Everything is fetched from the origin /embed.js came from (known from
 * document.currentScript): the chart's definition and option, ECharts, the
 * stream. That origin must list the host page's origin in
 * embed.allowed_parents. The chart lives in its own shadow root with its
 * own style sheet: the page's CSS does not reach it (all: initial on the
 * host), and its CSS does not reach the page.
 *
 * The elements of a page share one painter (dashd-paint.js): a paint
 * worker (on another origin, one started from a script made in the page,
 * which imports dashd's), or where the browser or the page's
 * Content-Security-Policy (worker-src, blob:) will not, ECharts loaded into
 * the page once, which sets no global: a window.echarts the page had is
 * put back.
 */
var script = document.currentScript;
var origin = script && script.src ? new URL(script.src).origin : location.origin;

var paintHost = null;
function sharedPaint() {
  if (!paintHost) {
    paintHost = dashdPaint.host({
      worker: origin + PAINT_WORKER_PATH,
      workerImports: PAINT_IMPORTS.map(function (p) { return origin + p; }),
      echartsURL: origin + ECHARTS_PATH,
    });
  }
  return paintHost;
}

var STYLE = [
  ':host { all: initial; display: block; position: relative; min-width: 200px; min-height: 240px;',
  '  height: 320px; contain: content; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;',
  '  --bg: #ffffff; --fg: #1f2328; --muted: #656d76; --border: #d8dee4; --live: #1a7f37; --warn: #9a6700; --bad: #cf222e; }',
  ':host([hidden]) { display: none; }',
  ':host([data-dark]) { --bg: #161b22; --fg: #e6edf3; --muted: #8d96a0; --border: #30363d; --live: #3fb950; --warn: #d29922; --bad: #f85149; }',
  '.box { box-sizing: border-box; display: flex; flex-direction: column; height: 100%; padding: 8px 10px;',
  '  background: var(--bg); color: var(--fg); border: 1px solid var(--border); border-radius: 8px; }',
  'header { display: flex; align-items: baseline; gap: 8px; }',
  'h2 { flex: 1 1 auto; margin: 0; font-size: 15px; font-weight: 600; overflow-wrap: anywhere; }',
  '.meta { font-size: 12px; color: var(--muted); white-space: nowrap; font-variant-numeric: tabular-nums; }',
  '.link[data-state="live"] { color: var(--live); }',
  '.link[data-state="reconnecting"] { color: var(--warn); }',
  '.link[data-state="stale"] { color: var(--bad); }',
  '.chart { flex: 1 1 auto; min-height: 0; width: 100%; }',
  '.error { margin: 4px 0 0; font-size: 12px; color: var(--bad); }',
  '.error.empty { color: var(--muted); }',
  'h2 { min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }',
].join('\n');

function attr(el, name) { return el.getAttribute(name) || ''; }

// unreachableText explains a request to dashd that failed without an
// answer the page may read ("Failed to fetch"): most often dashd answers
// but without CORS for this page, because the page's origin is not in its
// embed.allowed_parents (the chart API and the stream both follow that
// setting; stream.allowed_origins adds origins for the stream alone).
function unreachableText(err) {
  var here = location.origin && location.origin !== 'null' ? location.origin : 'this page';
  return 'dashd at ' + origin + ' did not let ' + here + ' read the chart (' + String(err && err.message ? err.message : err) +
    '): add ' + here + ' to embed.allowed_parents in dashd\'s configuration, or check that dashd is running';
}

class DashdChart extends HTMLElement {
  static get observedAttributes() { return ['chart', 'token', 'theme', 'tz', 'at', 'paint']; }

  constructor() {
    super();
    var shadow = this.attachShadow({ mode: 'open' });
    var style = document.createElement('style');
    style.textContent = STYLE;
    var box = document.createElement('div');
    box.className = 'box';
    box.setAttribute('part', 'box');
    var header = document.createElement('header');
    this._title = document.createElement('h2');
    this._updated = document.createElement('span');
    this._updated.className = 'meta updated';
    this._link = document.createElement('span');
    this._link.className = 'meta link';
    this._link.setAttribute('role', 'status');
    header.append(this._title, this._updated, this._link);
    this._chart = document.createElement('div');
    this._chart.className = 'chart';
    this._chart.setAttribute('role', 'img');
    this._error = document.createElement('p');
    this._error.className = 'error';
    this._error.setAttribute('role', 'alert');
    this._error.hidden = true;
    box.append(header, this._chart, this._error);
    shadow.append(style, box);
    this._live = null;
    this._started = false;
  }

  connectedCallback() {
    if (this._started) return;
    this._started = true;
    this._start();
  }

  attributeChangedCallback(name, old, value) {
    if (name === 'theme' && this._live && old !== value) this._applyTheme();
    if (name === 'at' && this._live && old !== value) this._at();
    if (name === 'paint' && this._live && old !== value) this._live.setPaintMode(value);
  }

  // pause holds the chart's picture while samples keep arriving (WCAG
  // 2.2.2); live shows the newest again, leaving a past moment (at).
  pause() {
    if (!this._live) return;
    this._live.pause();
    this._link.textContent = 'paused';
    this._link.setAttribute('data-state', 'paused');
  }

  live() {
    if (this.hasAttribute('at')) {
      this.removeAttribute('at'); // attributeChangedCallback goes live
      return;
    }
    if (!this._live) return;
    var c = this._live.charts.values().next().value;
    if (c && c.rewound) {
      c.rewound = false;
      if (!c.pending) c.pending = c.liveShown || c.shown;
    }
    this._live.resume();
    this._live.redraw();
    this._link.textContent = 'live';
    this._link.setAttribute('data-state', 'live');
  }

  // _at shows the moment of the at attribute, or goes live without one.
  _at() {
    var self = this;
    var raw = attr(this, 'at').trim();
    if (!raw) {
      this.live();
      return;
    }
    var n = Number(raw);
    var t = new Date(raw !== '' && isFinite(n) ? (Math.abs(n) < 1e11 ? n * 1000 : n) : raw);
    if (isNaN(t.getTime())) {
      this._fail('dashd-chart: at="' + raw + '" is not a time (RFC 3339, or a Unix number)');
      return;
    }
    var c = this._live.charts.values().next().value;
    this._live.pause();
    var ask = this._ask = (this._ask || 0) + 1;
    fetch(dashdCore.withToken(origin + '/api/v1/charts/' + encodeURIComponent(c.id) + '/frame?at=' + encodeURIComponent(t.toISOString()), attr(this, 'token')), {
      headers: { Accept: 'application/json' },
      credentials: 'omit',
    }).then(function (res) {
      if (res.ok) return res.json();
      return res.text().then(function (body) { throw new Error(dashdCore.errorText(res.status, body)); });
    }).then(function (f) {
      if (ask !== self._ask || !self.hasAttribute('at')) return;
      if (!c.rewound) {
        c.liveShown = c.shown;
        c.rewound = true;
      }
      c.shown = f;
      (function draw() {
        if (c.shown !== f) return;
        if (c.ready) c.view.draw(f);
        else setTimeout(draw, 50);
      })();
      self._fail('');
      self._link.textContent = 'paused at ' + dashdCore.clock(t);
      self._link.setAttribute('data-state', 'paused');
    }).catch(function (err) {
      if (ask === self._ask) self._fail('the moment could not be shown (' + String(err && err.message ? err.message : err) + ')');
    });
  }

  // getOption resolves to the ECharts option drawn now (a copy, as data:
  // no functions), or to null before the chart is loaded.
  getOption() {
    var c = this._live && this._live.charts.values().next().value;
    return c && c.ready ? c.view.option() : Promise.resolve(null);
  }

  _dark() {
    var t = attr(this, 'theme');
    if (t === 'dark' || t === 'light') return t === 'dark';
    return !!(window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches);
  }

  _applyTheme() {
    var dark = this._dark();
    this.toggleAttribute('data-dark', dark);
    if (this._live) {
      this._live.setTheme(dark ? 'dark' : 'default');
      this._live.redraw();
    }
  }

  _fail(text) {
    this._error.hidden = !text;
    this._error.textContent = text;
  }

  _start() {
    var self = this;
    var id = attr(this, 'chart');
    var token = attr(this, 'token');
    this.toggleAttribute('data-dark', this._dark());
    this._link.textContent = 'connecting…';
    if (!id) {
      this._fail('dashd-chart: set the chart attribute to a chart id');
      return;
    }
    var def = fetch(dashdCore.withToken(origin + '/api/v1/charts/' + encodeURIComponent(id), token), {
      headers: { Accept: 'application/json' },
      credentials: 'omit',
    }).catch(function (err) {
      // No answer the page may read: a TypeError, whatever the cause.
      throw new Error(unreachableText(err));
    }).then(function (res) {
      if (res.ok) return res.json();
      return res.text().then(function (body) {
        throw new Error('chart ' + id + ': ' + dashdCore.errorText(res.status, body));
      });
    });
    def.then(function (c) {
      self._title.textContent = c.title || c.id;
      self._chart.setAttribute('aria-label', c.title || c.id);
      sharedPaint().ready.then(function () {
        self.setAttribute('data-paint', sharedPaint().inWorker ? 'worker' : 'page');
      }, function (err) { self._fail(err.message); });
      self._live = dashdCore.live({
        paint: sharedPaint(),
        paintMode: dashdCore.paintMode(attr(self, 'paint')),
        base: origin,
        token: token,
        charts: [{
          id: c.id, el: self._chart, type: c.type, horizontal: c.horizontal, x: c.x, unit: c.unit,
          tz: attr(self, 'tz'), title: c.title || c.id, metric: c.metric || '',
        }],
        theme: self._dark() ? 'dark' : 'default',
        onLink: function (state, text) {
          if (self._live && self._live.paused() && state === 'live') return; // keeps "paused"
          self._link.textContent = text;
          self._link.setAttribute('data-state', state);
          self.setAttribute('data-state', state);
        },
        onDraw: function (ch, frame, t) {
          if (dashdCore.isEmptyFrame(frame)) {
            // Nothing drawn: no "updated" time, and what is missing.
            self._updated.textContent = '';
            self._updated.removeAttribute('title');
            self._fail(c.metric ? 'No samples of ' + c.metric + ' in this chart\'s window yet' : 'No data yet');
            self._error.classList.add('empty');
            return;
          }
          if (self._error.classList.contains('empty')) {
            self._error.classList.remove('empty');
            self._fail('');
          }
          // In the zone of the tz attribute, as the axis is.
          var zone = dashdCore.timeFormat(attr(self, 'tz'));
          self._updated.textContent = zone ? dashdCore.timeLabel(t.toISOString(), zone) : dashdCore.clock(t);
          self._updated.setAttribute('title', 'updated ' + t.toISOString());
        },
        onError: function (ch, text) { self._fail(text); },
      });
      if (self.hasAttribute('at')) self._at();
      if (!attr(self, 'theme') && window.matchMedia) {
        var mq = window.matchMedia('(prefers-color-scheme: dark)');
        if (mq.addEventListener) mq.addEventListener('change', function () { self._applyTheme(); });
      }
    }).catch(function (err) {
      self._link.textContent = '';
      self._fail(String(err && err.message ? err.message : err));
      self.setAttribute('data-state', 'refused');
    });
  }
}

if (!customElements.get('dashd-chart')) customElements.define('dashd-chart', DashdChart);
