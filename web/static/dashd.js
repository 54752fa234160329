/*
 * dashd.js: dashd's own pages (/d/{id}, /embed/{chart}). Needs dashdCore
 * and dashdPaint (dashd-core.js and dashd-paint.js, loaded before it); the
 * live charts themselves are dashdCore.live, drawn by dashd's paint worker
 * (body[data-paint-worker]) or, where the browser cannot, in the page with
 * ECharts loaded from body[data-echarts].
 *
 * Each chart element carries its view as el.dashdView, for scripts (and
 * tests) that read what is drawn: option() and texts() resolve to the
 * option and the texts on the canvas (with their boxes) now, action(a)
 * dispatches an ECharts action (see dashdPaint.host).
 *
 * What it adds is the page around the charts: the link badge, the time of
 * each chart's last update, the theme toggle (auto → light → dark, kept in
 * localStorage), a data table per chart, "save as PNG", and kiosk mode
 * (?kiosk: no chrome, larger type, the cursor hidden when idle).
 * Every string from data reaches the page through textContent only.
 */
(function () {
  'use strict';

  var THEME_KEY = 'dashd.theme';
  var IDLE_CURSOR_MS = 3000;
  var core = window.dashdCore;

  function start() {
    var root = document.querySelector('[data-dashboard],[data-charts]');
    if (!root) return;
    if (!core || !window.dashdPaint) {
      root.setAttribute('data-error', 'dashd-core.js or dashd-paint.js did not load');
      return;
    }
    var html = document.documentElement;
    var params = new URLSearchParams(location.search);
    var token = params.get('token') || '';
    // The dashboard variables chosen in the URL (?var-region=eu) go to the
    // stream, which serves each chart through them.
    var vars = '';
    params.forEach(function (value, key) {
      if (key.indexOf('var-') === 0) vars += '&' + encodeURIComponent(key) + '=' + encodeURIComponent(value);
    });
    var tz = root.getAttribute('data-tz') || '';
    var dark = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;

    function effectiveTheme() {
      var t = html.getAttribute('data-theme');
      if (t === 'dark' || t === 'light') return t;
      return dark && dark.matches ? 'dark' : 'light';
    }
    function echartsTheme() { return effectiveTheme() === 'dark' ? 'dark' : 'default'; }

    var cards = new Map(); // chart id → {updated, table, tableBody, caption}
    var sharedUpdated = root.hasAttribute('data-charts') ? document.querySelector('[data-updated]') : null;
    var defs = [];
    Array.prototype.forEach.call(root.querySelectorAll('[data-chart]'), function (el) {
      var id = el.getAttribute('data-id') || '';
      if (!id) return;
      var card = el.closest('.card');
      cards.set(id, {
        title: el.getAttribute('data-title') || id,
        card: card,
        updated: sharedUpdated || (card && card.querySelector('[data-updated]')),
        tableWrap: card && card.querySelector('[data-table]'),
      });
      defs.push({
        id: id,
        el: el,
        type: el.getAttribute('data-type'),
        horizontal: el.getAttribute('data-horizontal') === 'true',
        x: el.getAttribute('data-x'),
        unit: el.getAttribute('data-unit'),
        tz: tz,
      });
    });
    if (defs.length === 0) return;

    var linkEl = document.querySelector('[data-link]');
    var transportEl = document.querySelector('[data-transport]');

    var paint = window.dashdPaint.host({
      worker: document.body.getAttribute('data-paint-worker') || '',
      echartsURL: document.body.getAttribute('data-echarts') || '',
    });
    paint.ready.then(function () {
      root.setAttribute('data-paint', paint.inWorker ? 'worker' : 'page');
    }, function (err) {
      root.setAttribute('data-error', err.message);
    });
    var lv = core.live({
      paint: paint,
      token: token,
      vars: vars,
      dashboard: root.getAttribute('data-dashboard') || '',
      charts: defs,
      theme: echartsTheme(),
      onLink: function (state, text, transport) {
        if (linkEl) {
          linkEl.textContent = text;
          linkEl.setAttribute('data-state', state);
        }
        if (transportEl) transportEl.textContent = transport === 'SSE' ? 'via SSE' : 'via WebSocket';
        document.body.classList.toggle('is-stale', state === 'reconnecting' || state === 'stale');
      },
      onDashboard: function (a) {
        // The stream announces the definition this dashboard has now: when
        // it is not the one this page was drawn from, draw the page again.
        if (a.deleted) {
          if (linkEl) {
            linkEl.textContent = 'this dashboard was deleted';
            linkEl.setAttribute('data-state', 'deleted');
          }
          return;
        }
        if (a.version && a.version !== root.getAttribute('data-version')) window.location.reload();
      },
      onDraw: function (c, frame, t) {
        var k = cards.get(c.id);
        if (!k) return;
        if (k.updated) {
          k.updated.textContent = 'updated ' + core.clock(t);
          k.updated.setAttribute('title', t.toISOString());
        }
        if (k.tableWrap && !k.tableWrap.hidden) fillTable(k, c);
      },
      onError: function (c, text) {
        var p = c.el.parentNode.querySelector('.chart-error');
        if (!text) {
          if (p) p.remove();
          return;
        }
        if (!p) {
          p = document.createElement('p');
          p.className = 'chart-error';
          p.setAttribute('role', 'alert');
          c.el.parentNode.insertBefore(p, c.el.nextSibling);
        }
        p.textContent = text;
      },
    });

    lv.charts.forEach(function (c) { c.el.dashdView = c.view; });
    // Descriptions, keyboard, Pause/Live, palette and patterns: dashd-a11y.js.
    if (window.dashdA11y) window.dashdA11y.attach(lv);

    // ---- theme --------------------------------------------------------------

    var toggle = document.querySelector('[data-theme-toggle]');
    function showThemeChoice() {
      if (!toggle) return;
      var t = html.getAttribute('data-theme') || 'auto';
      toggle.textContent = 'theme: ' + t;
      toggle.setAttribute('aria-label', 'Colour theme: ' + t + ' (change)');
    }
    function themeChanged() {
      lv.setTheme(echartsTheme());
      lv.redraw();
    }
    if (dark && dark.addEventListener) {
      dark.addEventListener('change', function () {
        if (!html.hasAttribute('data-theme')) themeChanged();
      });
    }
    if (toggle) {
      showThemeChoice();
      toggle.addEventListener('click', function () {
        var next = { auto: 'light', light: 'dark', dark: 'auto' }[html.getAttribute('data-theme') || 'auto'];
        if (next === 'auto') html.removeAttribute('data-theme');
        else html.setAttribute('data-theme', next);
        try {
          if (next === 'auto') localStorage.removeItem(THEME_KEY);
          else localStorage.setItem(THEME_KEY, next);
        } catch (e) { /* not kept: storage denied */ }
        showThemeChoice();
        themeChanged();
      });
    }

    // ---- data table and PNG ----------------------------------------------------

    function fillTable(k, c) {
      var rows = core.tableOf(c.shown, c);
      var table = k.tableWrap.querySelector('table');
      if (!table) {
        table = document.createElement('table');
        var caption = document.createElement('caption');
        caption.textContent = k.title;
        table.appendChild(caption);
        table.appendChild(document.createElement('thead'));
        table.appendChild(document.createElement('tbody'));
        k.tableWrap.appendChild(table);
      }
      var thead = document.createElement('thead');
      var tr = document.createElement('tr');
      rows[0].forEach(function (h) {
        var th = document.createElement('th');
        th.scope = 'col';
        th.textContent = h;
        tr.appendChild(th);
      });
      thead.appendChild(tr);
      var tbody = document.createElement('tbody');
      for (var i = 1; i < rows.length; i++) {
        var r = document.createElement('tr');
        rows[i].forEach(function (cell, j) {
          var td = document.createElement(j === 0 ? 'th' : 'td');
          if (j === 0) td.scope = 'row';
          td.textContent = cell;
          r.appendChild(td);
        });
        tbody.appendChild(r);
      }
      table.replaceChild(thead, table.tHead);
      table.replaceChild(tbody, table.tBodies[0]);
    }

    function savePNG(c, k) {
      var bg = k.card ? getComputedStyle(k.card).backgroundColor : '#fff';
      c.view.png({ pixelRatio: 2, backgroundColor: bg }).then(function (url) {
        var a = document.createElement('a');
        a.href = url;
        a.download = c.id + '.png';
        document.body.appendChild(a);
        a.click();
        a.remove();
      });
    }

    root.addEventListener('click', function (e) {
      var btn = e.target.closest('[data-action]');
      if (!btn) return;
      var id = btn.getAttribute('data-for');
      var c = lv.charts.get(id);
      var k = cards.get(id);
      if (!c || !k) return;
      if (btn.getAttribute('data-action') === 'png') {
        savePNG(c, k);
        return;
      }
      if (!k.tableWrap) return;
      var open = k.tableWrap.hidden;
      k.tableWrap.hidden = !open;
      btn.setAttribute('aria-pressed', String(open));
      if (open && c.shown) fillTable(k, c);
    });

    // ---- kiosk: hide the cursor when it rests ---------------------------------

    if (document.body.classList.contains('kiosk')) {
      var idle = null;
      var wake = function () {
        document.body.classList.remove('idle');
        clearTimeout(idle);
        idle = setTimeout(function () { document.body.classList.add('idle'); }, IDLE_CURSOR_MS);
      };
      ['mousemove', 'mousedown', 'keydown', 'touchstart'].forEach(function (ev) {
        window.addEventListener(ev, wake, { passive: true });
      });
      wake();
    }
  }

  start();
})();
