/*
 * dashd-a11y.js: dashd's live charts for keyboard and screen-reader users
 * (WCAG 2.2 AA; docs/accessibility.md). Needs dashdCore (dashd-core.js);
 * declares one name, dashdA11y. dashd.js calls attach(live) once its
 * charts are live.
 *
 * What it adds to a page, all on the main thread (the paint worker only
 * draws):
 *   - a description per chart in words (its element's aria-describedby),
 *     built from the frame on screen (c.shown) at most every
 *     DESCRIBE_EVERY_MS, never per frame;
 *   - keyboard: each chart is a tab stop; arrow keys move across categories
 *     and series, the value under focus is highlighted and its tooltip shown
 *     (ECharts actions through the paint worker) and said in a polite live
 *     region; P pauses or goes live, T shows the table, Esc leaves the bar;
 *   - the page-wide Pause/Live button (live.pause/resume, WCAG 2.2.2);
 *   - display options, kept in localStorage and overridden by the URL:
 *     patterns (?patterns=on: a decal per series, they differ without colour),
 *     a colour-blind-safe palette (?palette=safe), and announcements of
 *     threshold crossings (?announce=on), at most one every
 *     ANNOUNCE_GAP_MS; prefers-reduced-motion turns update animations off.
 *
 * Every string from data reaches the page through textContent only.
 * Under Node (tests) it exports its pure functions.
 */
var dashdA11y = (function () {
  'use strict';

  var core = typeof dashdCore !== 'undefined' ? dashdCore
    : (typeof require === 'function' ? require('./dashd-core.js') : null);

  var DESCRIBE_EVERY_MS = 3000; // a description changes at most this often
  var ANNOUNCE_GAP_MS = 5000; // one announcement at most this often
  var TICK_MS = 1000;
  var MAX_PENDING = 20; // announcements waiting; older ones are counted only
  var TOP_N = 3; // categories named in a description

  // The bar colours, per theme: each at least 3:1 against the card and
  // the page background of its theme (WCAG 1.4.11; the contrast is
  // computed in web/build/dashd-a11y.test.js from the colours of
  // dashd.css).
  // "safe" is Okabe and Ito's colour-blind-safe set, darkened where its
  // light colours fell under 3:1 on white.
  var PALETTES = {
    standard: {
      light: ['#2f6fd6', '#c2410c', '#237a35', '#9c36b5', '#c92a6d', '#0b7285', '#8a6d00', '#5c6370'],
      dark: ['#5b9cf5', '#f08c4a', '#51cf66', '#cc8ef5', '#f783ac', '#3bc9db', '#fcc419', '#adb5bd'],
    },
    safe: {
      light: ['#0072b2', '#d55e00', '#007e5c', '#ad4c86', '#a86e00', '#2c7fb8', '#5f5f5f'],
      dark: ['#56b4e9', '#e69f00', '#009e73', '#f0e442', '#cc79a7', '#e36c2e', '#5a9bd5', '#ffffff'],
    },
  };

  // ---- pure functions (exported for tests) -----------------------------------

  function plural(n, one, many) { return n + ' ' + (n === 1 ? one : many); }

  // spanText says a number of seconds in words: "5 minutes", "1 hour".
  function spanText(s) {
    if (!(s > 0)) return '';
    if (s % 86400 === 0) return plural(s / 86400, 'day', 'days');
    if (s % 3600 === 0) return plural(s / 3600, 'hour', 'hours');
    if (s % 60 === 0) return plural(s / 60, 'minute', 'minutes');
    return plural(Math.round(s * 1000) / 1000, 'second', 'seconds');
  }

  // metaOf reads a chart element's data attributes (web/templates).
  function metaOf(el) {
    var get = function (n) { return el.getAttribute(n) || ''; };
    var thresholds = [];
    try {
      var t = JSON.parse(get('data-thresholds') || '[]');
      if (Array.isArray(t)) {
        thresholds = t.filter(function (x) { return x && typeof x.value === 'number'; });
      }
    } catch (e) { /* none */ }
    return {
      id: get('data-id'), title: get('data-title') || get('data-id'), type: get('data-type') || 'grouped',
      horizontal: get('data-horizontal') === 'true', x: get('data-x'), unit: get('data-unit'),
      series: get('data-series'), window: Number(get('data-window')) || 0, bucket: Number(get('data-bucket')) || 0,
      thresholds: thresholds, timeFormat: null,
    };
  }

  // headText is what a chart shows, whatever its data: "Requests by
  // route, stacked by status, last 5 minutes."
  function headText(meta) {
    var kind = { grouped: 'grouped', stacked: 'stacked', percent: 'stacked to 100 %' }[meta.type] || 'grouped';
    var by = meta.series ? ' by ' + meta.series : '';
    var span;
    if (meta.x === 'time') {
      var shown = meta.window || (meta.bucket ? meta.bucket * 60 : 0);
      span = (shown ? 'last ' + spanText(shown) : 'over time') + (meta.bucket ? ' in ' + spanText(meta.bucket) + ' bars' : '');
    } else {
      span = meta.window ? 'last ' + spanText(meta.window) : 'since the start';
    }
    var parts = [meta.title];
    if (meta.x && meta.x !== 'time') parts.push('bars by ' + meta.x);
    parts.push(kind + by, span);
    return parts.join(', ') + '.';
  }

  function value(v, meta) {
    if (core && core.tooltipValue) return core.tooltipValue(v, meta);
    return typeof v === 'number' && isFinite(v) ? String(v) : '–';
  }

  function finite(v) { return typeof v === 'number' && isFinite(v); }

  function categoryLabel(frame, i, meta) {
    var cat = (frame.categories || [])[i];
    if (meta.x === 'time' && core && core.timeLabel) return core.timeLabel(cat, meta.timeFormat);
    return String(cat);
  }

  // totalOf is the sum of category i's finite values.
  function totalOf(frame, i) {
    var sum = 0;
    var any = false;
    (frame.series || []).forEach(function (s) {
      var v = (s.data || [])[i];
      if (finite(v)) { sum += v; any = true; }
    });
    return any ? sum : null;
  }

  // breakdown is "(200: 790, 500: 22)" for category i of a chart of
  // several series, "" otherwise.
  function breakdown(frame, i, meta) {
    var series = frame.series || [];
    if (series.length < 2) return '';
    var parts = [];
    series.forEach(function (s) {
      var v = (s.data || [])[i];
      if (finite(v)) parts.push(s.name + ': ' + value(v, meta));
    });
    return parts.length ? ' (' + parts.join(', ') + ')' : '';
  }

  // describe is what frame shows on chart meta, in words: what the chart
  // is, how many bars, the highest categories with their parts, the
  // lowest, the latest (time axis), and the time of the values.
  function describe(frame, meta) {
    var head = headText(meta);
    var cats = (frame && frame.categories) || [];
    var series = (frame && frame.series) || [];
    if (!cats.length || !series.length) return head + ' No data yet.';
    var out = [head];
    out.push(plural(cats.length, 'category', 'categories') + (series.length > 1 ? ', ' + plural(series.length, 'series', 'series') : '') + '.');
    var point = function (i) {
      var total = totalOf(frame, i);
      var whole = meta.type === 'percent' ? '' : ' ' + value(total, meta);
      return categoryLabel(frame, i, meta) + whole + breakdown(frame, i, meta);
    };
    if (meta.x === 'time') out.push('Latest, ' + point(cats.length - 1) + '.');
    var idx = cats.map(function (c, i) { return i; });
    if (meta.type === 'percent') {
      out.push('Shares: ' + idx.slice(0, TOP_N).map(point).join('; ') + (cats.length > TOP_N ? '; and ' + (cats.length - TOP_N) + ' more' : '') + '.');
    } else {
      var ranked = idx.filter(function (i) { return totalOf(frame, i) !== null; });
      ranked.sort(function (a, b) { return totalOf(frame, b) - totalOf(frame, a) || a - b; });
      if (ranked.length) {
        out.push('Highest: ' + ranked.slice(0, TOP_N).map(point).join('; ') +
          (ranked.length > TOP_N ? '; and ' + (ranked.length - TOP_N) + ' more' : '') + '.');
      }
      if (ranked.length > TOP_N) out.push('Lowest: ' + point(ranked[ranked.length - 1]) + '.');
    }
    if (frame.time && core && core.timeLabel) {
      var t = new Date(frame.time);
      if (!isNaN(t.getTime())) out.push('Values as of ' + core.clock(t) + '.');
    }
    return out.join(' ');
  }

  // pointText says the value of series si at category ci: "/checkout,
  // status 500: 22 requests (2 of 5)".
  function pointText(frame, meta, ci, si) {
    var series = (frame && frame.series) || [];
    var cats = (frame && frame.categories) || [];
    var s = series[si];
    if (!s || ci < 0 || ci >= cats.length) return 'no data';
    var who = series.length > 1 || meta.series ? (meta.series ? meta.series + ' ' : '') + s.name : '';
    var v = (s.data || [])[ci];
    return categoryLabel(frame, ci, meta) + ', ' + (who ? who + ': ' : '') + (finite(v) ? value(v, meta) : 'no value') +
      ' (' + (ci + 1) + ' of ' + cats.length + ')';
  }

  // KEYS are the keys that move the focus within a chart.
  var KEYS = { ArrowLeft: 1, ArrowRight: 1, ArrowUp: 1, ArrowDown: 1, Home: 1, End: 1 };

  // move returns the point under focus after key on frame, from pos
  // ({ci, si, cat, ser}, or null for none yet). The point follows its
  // category and series by name when a newer frame moved them.
  function move(pos, key, frame) {
    var cats = (frame && frame.categories) || [];
    var series = (frame && frame.series) || [];
    if (!cats.length || !series.length) return null;
    var ci = 0;
    var si = 0;
    if (pos) {
      ci = cats.indexOf(pos.cat);
      if (ci < 0) ci = Math.min(pos.ci, cats.length - 1);
      si = series.findIndex(function (s) { return s.name === pos.ser; });
      if (si < 0) si = Math.min(pos.si, series.length - 1);
      switch (key) {
        case 'ArrowRight': ci = Math.min(ci + 1, cats.length - 1); break;
        case 'ArrowLeft': ci = Math.max(ci - 1, 0); break;
        case 'ArrowDown': si = Math.min(si + 1, series.length - 1); break;
        case 'ArrowUp': si = Math.max(si - 1, 0); break;
        case 'Home': ci = 0; break;
        case 'End': ci = cats.length - 1; break;
      }
    } else if (key === 'End') {
      ci = cats.length - 1;
    }
    return { ci: ci, si: si, cat: cats[ci], ser: series[si].name };
  }

  // levelsOf gives, per threshold, the values compared with it: each
  // value of a grouped (or percent) chart, each category's total of a
  // stacked one, keyed by what they are.
  function levelsOf(frame, meta) {
    var out = [];
    var cats = (frame && frame.categories) || [];
    var series = (frame && frame.series) || [];
    cats.forEach(function (c, i) {
      if (meta.type === 'stacked') {
        var t = totalOf(frame, i);
        if (t !== null) out.push({ key: String(c), label: categoryLabel(frame, i, meta), v: t });
        return;
      }
      series.forEach(function (s) {
        var v = (s.data || [])[i];
        if (!finite(v)) return;
        var who = series.length > 1 ? ', ' + (meta.series ? meta.series + ' ' : '') + s.name : '';
        out.push({ key: String(c) + '\n' + s.name, label: categoryLabel(frame, i, meta) + who, v: v });
      });
    });
    return out;
  }

  // crossings compares frame with the state of the frame before (prev, a
  // Set from the last call, or null for none) against meta.thresholds:
  // {above (the new state), messages (what crossed, in words)}. The first
  // frame sets the state and says nothing.
  function crossings(prev, frame, meta) {
    var above = new Set();
    var messages = [];
    var levels = levelsOf(frame, meta);
    (meta.thresholds || []).forEach(function (t, ti) {
      var name = t.label ? value(t.value, meta) + ' (' + t.label + ')' : value(t.value, meta);
      levels.forEach(function (l) {
        var k = ti + '\n' + l.key;
        var up = l.v > t.value;
        if (up) above.add(k);
        if (!prev || up === prev.has(k)) return;
        messages.push(meta.title + ': ' + l.label + (up ? ' rose above ' : ' fell back to ') + name + ', now ' + value(l.v, meta) + '.');
      });
    });
    return { above: above, messages: messages };
  }

  // announcer rate-limits what a live region says: offer(texts) queues,
  // due() returns what to say now ("" when nothing is waiting or the last
  // announcement was less than gapMs ago on the clock now()) and forgets
  // it. Texts waiting are said together, the first few in full.
  function announcer(now, gapMs) {
    var pending = [];
    var dropped = 0;
    var last = -Infinity;
    return {
      offer: function (texts) {
        texts.forEach(function (t) {
          if (pending.length < MAX_PENDING) pending.push(t);
          else dropped++;
        });
      },
      due: function () {
        if (!pending.length) return '';
        var t = now();
        if (t - last < gapMs) return '';
        last = t;
        var more = pending.length - TOP_N + dropped;
        var text = pending.slice(0, TOP_N).join(' ') + (more > 0 ? ' And ' + more + ' more.' : '');
        pending = [];
        dropped = 0;
        return text;
      },
    };
  }

  // settingOf reads a display option: the URL's ?name= wins, then what
  // was chosen (localStorage), then the default.
  function settingOf(params, stored, name, values, byDefault) {
    var v = params.get(name);
    if (v === '1' || v === 'true') v = 'on';
    if (v === '0' || v === 'false') v = 'off';
    if (values.indexOf(v) >= 0) return v;
    if (values.indexOf(stored) >= 0) return stored;
    return byDefault;
  }

  // Patterns that tell series apart without colour: ECharts' own aria
  // decals, drawn over the bars in a colour that stands out from the
  // palette of the theme (dark bars in light, light bars in dark).
  var DECALS = [
    { dashArrayX: [1, 0], dashArrayY: [2, 5], symbolSize: 1, rotation: Math.PI / 6 },
    { symbol: 'circle', dashArrayX: [[8, 8], [0, 8, 8, 0]], dashArrayY: [6, 0], symbolSize: 0.8 },
    { dashArrayX: [1, 0], dashArrayY: [4, 3], rotation: -Math.PI / 4 },
    { dashArrayX: [[6, 6], [0, 6, 6, 0]], dashArrayY: [6, 0] },
    { dashArrayX: [[1, 0], [1, 6]], dashArrayY: [1, 0, 6, 0], rotation: Math.PI / 4 },
    { symbol: 'triangle', dashArrayX: [[9, 9], [0, 9, 9, 0]], dashArrayY: [7, 2], symbolSize: 0.75 },
  ];

  // patchOf is what the paint worker lays over a chart for these settings
  // (dashdPaint view.patch): {option: {color, animation}, decals}.
  function patchOf(theme, palette, patterns, reducedMotion) {
    var set = PALETTES[palette] || PALETTES.standard;
    var ink = theme === 'dark' ? 'rgba(0, 0, 0, 0.45)' : 'rgba(255, 255, 255, 0.6)';
    return {
      option: { color: (theme === 'dark' ? set.dark : set.light).slice(), animation: !reducedMotion },
      decals: patterns ? DECALS.map(function (d) { return Object.assign({ color: ink }, d); }) : [],
    };
  }

  // ---- the page ---------------------------------------------------------------

  var OPTIONS = {
    patterns: { key: 'dashd.patterns', param: 'patterns', values: ['on', 'off'], byDefault: 'off', on: 'on' },
    palette: { key: 'dashd.palette', param: 'palette', values: ['safe', 'standard'], byDefault: 'standard', on: 'safe' },
    announce: { key: 'dashd.announce', param: 'announce', values: ['on', 'off'], byDefault: 'off', on: 'on' },
  };

  function stored(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function store(key, v) {
    try { window.localStorage.setItem(key, v); } catch (e) { /* storage denied: not kept */ }
  }

  function liveRegion(doc, role) {
    var el = doc.createElement('div');
    el.className = 'sr-only';
    if (role) el.setAttribute('role', role);
    el.setAttribute('aria-live', 'polite');
    doc.body.appendChild(el);
    return el;
  }

  // attach makes the charts of lv (dashdCore.live) accessible; opts.now is
  // the clock (Date.now by default). It returns {pause(), resume(),
  // setOption(name, value), refresh()}.
  function attach(lv, opts) {
    opts = opts || {};
    var now = opts.now || Date.now;
    var doc = document;
    var html = doc.documentElement;
    var params = new URLSearchParams(window.location.search);
    var mq = function (q) { return window.matchMedia ? window.matchMedia(q) : null; };
    var darkMQ = mq('(prefers-color-scheme: dark)');
    var stillMQ = mq('(prefers-reduced-motion: reduce)');

    var settings = {};
    Object.keys(OPTIONS).forEach(function (name) {
      var o = OPTIONS[name];
      settings[name] = settingOf(params, stored(o.key), o.param, o.values, o.byDefault);
    });

    var said = liveRegion(doc, ''); // the value under focus
    var announced = liveRegion(doc, 'status'); // threshold crossings
    said.setAttribute('data-a11y-said', '');
    announced.setAttribute('data-a11y-announce', '');
    var ann = announcer(now, ANNOUNCE_GAP_MS);

    var hasTables = !!doc.querySelector('[data-table]');
    var hint = doc.createElement('p');
    hint.id = 'dashd-chart-keys';
    hint.className = 'sr-only';
    hint.textContent = 'Arrow keys move across the bars and read their values; P pauses every chart or goes live' +
      (hasTables ? '; T shows the table of values.' : '.');
    doc.body.appendChild(hint);

    var items = [];
    lv.charts.forEach(function (c) {
      var el = c.el;
      var meta = metaOf(el);
      meta.timeFormat = c.timeFormat || null;
      var desc = el.getAttribute('aria-describedby') ? doc.getElementById(el.getAttribute('aria-describedby').split(' ')[0]) : null;
      var card = el.closest('.card');
      var k = {
        c: c, el: el, meta: meta, desc: desc, pos: null, described: undefined, describedAt: -Infinity, above: null,
        tableButton: card ? card.querySelector('[data-action="table"]') : null,
      };
      el.setAttribute('aria-describedby', ((el.getAttribute('aria-describedby') || '') + ' ' + hint.id).trim());
      var table = card && card.querySelector('[data-table]');
      if (table && table.id) el.setAttribute('aria-controls', table.id);
      el.addEventListener('keydown', function (e) { onKey(k, e); });
      el.addEventListener('blur', function () { leave(k); });
      items.push(k);
    });

    // ---- patterns, palette, motion -------------------------------------------

    function theme() {
      var t = html.getAttribute('data-theme');
      if (t === 'dark' || t === 'light') return t;
      return darkMQ && darkMQ.matches ? 'dark' : 'light';
    }
    function patchAll() {
      var p = patchOf(theme(), settings.palette, settings.patterns === 'on', !!(stillMQ && stillMQ.matches));
      items.forEach(function (k) { k.c.view.patch(p.option, p.decals); });
      html.setAttribute('data-palette', settings.palette);
      html.setAttribute('data-patterns', settings.patterns);
    }
    patchAll();
    [darkMQ, stillMQ].forEach(function (q) {
      if (q && q.addEventListener) q.addEventListener('change', patchAll);
    });
    if (window.MutationObserver) {
      new MutationObserver(patchAll).observe(html, { attributes: true, attributeFilter: ['data-theme'] });
    }

    function showOptions() {
      Array.prototype.forEach.call(doc.querySelectorAll('[data-a11y-option]'), function (b) {
        var name = b.getAttribute('data-a11y-option');
        if (OPTIONS[name]) b.setAttribute('aria-pressed', String(settings[name] === OPTIONS[name].on));
      });
    }
    function setOption(name, v) {
      var o = OPTIONS[name];
      if (!o || o.values.indexOf(v) < 0) return;
      settings[name] = v;
      store(o.key, v);
      showOptions();
      if (name !== 'announce') patchAll();
    }
    showOptions();
    doc.addEventListener('click', function (e) {
      var b = e.target.closest && e.target.closest('[data-a11y-option]');
      if (!b) return;
      var name = b.getAttribute('data-a11y-option');
      var o = OPTIONS[name];
      if (!o) return;
      setOption(name, settings[name] === o.on ? o.values.filter(function (x) { return x !== o.on; })[0] : o.on);
    });

    // ---- pause ------------------------------------------------------------------

    var pauseButton = doc.querySelector('[data-pause]');
    var pauseState = doc.querySelector('[data-pause-state]');
    var shownPaused = null;
    function showPause() {
      var p = lv.paused();
      shownPaused = p;
      doc.body.classList.toggle('is-paused', p);
      if (pauseButton) pauseButton.textContent = p ? 'Go live' : 'Pause';
      if (!pauseState || pauseState.hasAttribute('data-rewind')) return; // dashd-rewind.js says it
      if (!p) {
        pauseState.textContent = 'live';
        return;
      }
      // The time of the newest values on screen.
      var newest = null;
      items.forEach(function (k) {
        var t = k.c.shown && new Date(k.c.shown.time);
        if (t && !isNaN(t.getTime()) && (!newest || t > newest)) newest = t;
      });
      pauseState.textContent = 'paused at ' + core.clock(newest || new Date(now()));
    }
    function pause() { lv.pause(); showPause(); }
    function resume() { lv.resume(); showPause(); }
    function togglePause() {
      if (lv.paused()) resume();
      else pause();
    }
    if (pauseButton) pauseButton.addEventListener('click', togglePause);
    showPause();

    // ---- keyboard -----------------------------------------------------------------

    function say(text) {
      // Emptied first, so that the same text twice is said twice.
      said.textContent = '';
      setTimeout(function () { said.textContent = text; }, 30);
      said.setAttribute('data-text', text);
    }

    function leave(k) {
      if (!k.pos) return;
      k.pos = null;
      k.c.view.action({ type: 'downplay' });
      k.c.view.action({ type: 'hideTip' });
    }

    function onKey(k, e) {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      if (KEYS[e.key]) {
        e.preventDefault();
        var f = k.c.shown;
        var pos = move(k.pos, e.key, f);
        if (!pos) {
          say(k.meta.title + ': no data yet.');
          return;
        }
        if (k.pos) k.c.view.action({ type: 'downplay' });
        k.pos = pos;
        k.c.view.action({ type: 'highlight', seriesIndex: pos.si, dataIndex: pos.ci });
        k.c.view.action({ type: 'showTip', seriesIndex: pos.si, dataIndex: pos.ci });
        say(pointText(f, k.meta, pos.ci, pos.si));
        return;
      }
      switch (e.key) {
        case 'Escape':
          leave(k);
          return;
        case 'p': case 'P':
          e.preventDefault();
          togglePause();
          say(lv.paused() ? 'Paused: ' + (pauseState ? pauseState.textContent : '') : 'Live');
          return;
        case 't': case 'T':
          if (!k.tableButton) return;
          e.preventDefault();
          k.tableButton.click();
          say(k.tableButton.getAttribute('aria-pressed') === 'true' ? 'Table of values shown after the chart.' : 'Table hidden.');
      }
    }

    // ---- descriptions and announcements ----------------------------------------

    function refresh() {
      var t = now();
      // Another control (rewind) may pause or resume live: show it.
      if (lv.paused() !== shownPaused) showPause();
      items.forEach(function (k) {
        var f = k.c.shown;
        if (f === k.described || t - k.describedAt < DESCRIBE_EVERY_MS) return;
        k.described = f;
        k.describedAt = t;
        if (k.desc) k.desc.textContent = describe(f, k.meta);
        if (!f || !k.meta.thresholds.length) return;
        var x = crossings(k.above, f, k.meta);
        k.above = x.above;
        if (settings.announce === 'on') ann.offer(x.messages);
      });
      var text = ann.due();
      if (text) announced.textContent = text;
    }
    setInterval(refresh, TICK_MS);
    refresh();

    return { pause: pause, resume: resume, setOption: setOption, refresh: refresh };
  }

  var exported = {
    PALETTES: PALETTES,
    DESCRIBE_EVERY_MS: DESCRIBE_EVERY_MS,
    ANNOUNCE_GAP_MS: ANNOUNCE_GAP_MS,
    spanText: spanText,
    headText: headText,
    describe: describe,
    pointText: pointText,
    move: move,
    crossings: crossings,
    announcer: announcer,
    settingOf: settingOf,
    patchOf: patchOf,
    attach: attach,
  };
  if (typeof window === 'undefined' && typeof module === 'object' && module && module.exports) {
    module.exports = exported;
  }
  return exported;
})();
