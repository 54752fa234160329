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
 * each chart's last update, the theme (its toggle is theme.js's; the
 * charts follow its "dashd:theme" event), a data table per chart, "save
 * as PNG" (with the title, the time range and the time), a legend per
 * chart that scrolls and is reached by keyboard, an empty state that says
 * what is missing and how to send it, each chart's width and height
 * (data-width, data-height), and kiosk mode (?kiosk: no chrome, the
 * screen shared among the charts with no scrolling, type scaled to the
 * screen, the cursor hidden when idle), and ?paint=fresh (every visible
 * chart drawn at the stream's rate, without the paint budget).
 * Every string from data reaches the page through textContent only.
 */
(function () {
  'use strict';

  var IDLE_CURSOR_MS = 3000;
  var EMPTY_AFTER_MS = 1500; // after the link is live, a chart without a frame is empty
  var core = window.dashdCore;

  // pngWithHeader resolves to the PNG at url (a data: URL of the chart)
  // under a header of title and sub, drawn on a canvas (text, never markup).
  function pngWithHeader(url, title, sub, bg, fg) {
    return new Promise(function (resolve, reject) {
      var img = new Image();
      img.onload = function () {
        var scale = 2;
        var pad = 12 * scale;
        var h1 = 16 * scale;
        var h2 = 12 * scale;
        var head = pad + h1 + 6 * scale + h2 + pad / 2;
        var cv = document.createElement('canvas');
        cv.width = img.width;
        cv.height = img.height + head;
        var g = cv.getContext('2d');
        g.fillStyle = bg;
        g.fillRect(0, 0, cv.width, cv.height);
        g.fillStyle = fg;
        g.textBaseline = 'top';
        g.font = '600 ' + h1 + 'px system-ui, sans-serif';
        g.fillText(title, pad, pad, cv.width - 2 * pad);
        g.globalAlpha = 0.7;
        g.font = h2 + 'px system-ui, sans-serif';
        g.fillText(sub, pad, pad + h1 + 6 * scale, cv.width - 2 * pad);
        g.globalAlpha = 1;
        g.drawImage(img, 0, head);
        resolve(cv.toDataURL('image/png'));
      };
      img.onerror = function () { reject(new Error('the chart image did not load')); };
      img.src = url;
    });
  }

  // kioskFontSize is the chart text size of a wall: 18 px at 1080 px high.
  function kioskFontSize() {
    return Math.max(12, Math.min(36, Math.round(window.innerHeight / 60)));
  }

  // layoutKiosk shares the grid among n charts: the columns and rows
  // whose cells come closest to a chart's shape (about 16:10), so that
  // every chart is on the screen at once (the style sheet sizes the rows
  // to the grid's height).
  function layoutKiosk(grid, n) {
    var w = grid.clientWidth || window.innerWidth;
    var h = grid.clientHeight || window.innerHeight;
    var best = 1;
    var bestScore = -1;
    for (var cols = 1; cols <= n; cols++) {
      var rows = Math.ceil(n / cols);
      var score = Math.min(w / cols / 1.6, h / rows);
      if (score > bestScore + 0.5) {
        best = cols;
        bestScore = score;
      }
    }
    grid.style.setProperty('--cols', String(best));
    grid.style.setProperty('--rows', String(Math.ceil(n / best)));
  }

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
    // ?paint=fresh: every visible chart draws each frame as it comes,
    // without the paint budget (issue 17; README, "Freshness or CPU"). Anything
    // else is the default; only the validated name reaches the page.
    var paintMode = core.paintMode(params.get('paint'));
    root.setAttribute('data-paint-mode', paintMode);
    var dark = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;

    function effectiveTheme() {
      var t = html.getAttribute('data-theme');
      if (t === 'dark' || t === 'light') return t;
      return dark && dark.matches ? 'dark' : 'light';
    }
    function echartsTheme() { return effectiveTheme() === 'dark' ? 'dark' : 'default'; }

    var kiosk = document.body.classList.contains('kiosk');
    var zone = core.timeFormat(tz); // null: the browser's own
    var cards = new Map(); // chart id → {title, card, box, updated, tableWrap, legend, empty, lookback, ...}
    var sharedUpdated = root.hasAttribute('data-charts') ? document.querySelector('[data-updated]') : null;
    var defs = [];
    Array.prototype.forEach.call(root.querySelectorAll('[data-chart]'), function (el) {
      var id = el.getAttribute('data-id') || '';
      if (!id) return;
      var card = el.closest('.card');
      var height = parseInt(el.getAttribute('data-height') || '', 10);
      if (height > 0 && !kiosk) el.style.height = height + 'px'; // CSSOM: allowed by the page's CSP
      var k = {
        id: id,
        title: el.getAttribute('data-title') || id,
        card: card,
        box: card || el.parentNode,
        updated: sharedUpdated || (card && card.querySelector('[data-updated]')),
        tableWrap: card && card.querySelector('[data-table]'),
        metric: el.getAttribute('data-metric') || '',
        lookback: parseInt(el.getAttribute('data-lookback') || '0', 10) || 0,
        sample: el.getAttribute('data-sample') || '',
        x: el.getAttribute('data-x') || '',
        legend: null,
        legendKey: null,
        hidden: new Set(), // series switched off in the legend
        empty: null,
      };
      k.legend = makeLegend(k, el);
      cards.set(id, k);
      defs.push({
        id: id,
        el: el,
        type: el.getAttribute('data-type'),
        horizontal: el.getAttribute('data-horizontal') === 'true',
        x: el.getAttribute('data-x'),
        unit: el.getAttribute('data-unit'),
        title: k.title,
        metric: k.metric,
        htmlLegend: true,
        fontSize: kiosk ? kioskFontSize() : 0,
        tz: tz,
      });
    });
    if (defs.length === 0) return;
    if (kiosk) {
      layoutKiosk(root, defs.length);
      var fontPx = kioskFontSize();
      window.addEventListener('resize', function () {
        layoutKiosk(root, defs.length);
        if (kioskFontSize() === fontPx) return;
        fontPx = kioskFontSize();
        lv.charts.forEach(function (c) { c.view.font(fontPx); });
      });
    }

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
      paintMode: paintMode,
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
        if (state === 'live') {
          // A chart with no data may get no frame at all: say so once the
          // link had time to bring its snapshot.
          setTimeout(function () {
            lv.charts.forEach(function (c) { if (!c.shown) showEmpty(cards.get(c.id), true); });
          }, EMPTY_AFTER_MS);
        }
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
        var empty = core.isEmptyFrame(frame);
        showEmpty(k, empty);
        if (k.updated) {
          // Nothing drawn is not "updated": no time while empty.
          k.updated.textContent = empty ? '' : 'updated ' + clockOf(t);
          if (empty) k.updated.removeAttribute('title');
          else k.updated.setAttribute('title', t.toISOString());
        }
        fillLegend(k, c, frame);
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
    // The time slider, replay and ?at= links: dashd-rewind.js, loaded when
    // asked for (the Rewind button, or ?at= in the address), so that a
    // live page's first load stays small.
    var rewindOpen = document.querySelector('[data-rewind-open]');
    function loadRewind() {
      if (window.dashdRewind || rewindOpen.hasAttribute('data-loading')) return;
      rewindOpen.setAttribute('data-loading', '');
      var css = document.createElement('link');
      css.rel = 'stylesheet';
      css.href = rewindOpen.getAttribute('data-css');
      document.head.appendChild(css);
      var js = document.createElement('script');
      js.src = rewindOpen.getAttribute('data-src');
      js.onload = function () { window.dashdRewind.attach(lv, { token: token, dashboard: root.getAttribute('data-dashboard') || '', opener: rewindOpen }); };
      document.head.appendChild(js);
    }
    if (rewindOpen) {
      rewindOpen.addEventListener('click', loadRewind);
      if (params.has('at')) loadRewind();
    }

    // ---- theme --------------------------------------------------------------

    // The toggle is theme.js's (it works on every page, the index too).
    function themeChanged() {
      lv.setTheme(echartsTheme());
      lv.redraw();
    }
    if (dark && dark.addEventListener) {
      dark.addEventListener('change', function () {
        if (!html.hasAttribute('data-theme')) themeChanged();
      });
    }
    document.addEventListener('dashd:theme', themeChanged);

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

    // savePNG saves the chart as a PNG with a header: its title, the time
    // range it shows and the time it was saved.
    function savePNG(c, k) {
      var style = getComputedStyle(k.box);
      var bg = style.backgroundColor || '#fff';
      var fg = style.color || '#000';
      c.view.png({ pixelRatio: 2, backgroundColor: bg }).then(function (url) {
        return pngWithHeader(url, k.title, rangeText(k, c.shown) + ' · saved ' + clockOf(new Date()) + (tz ? ' ' + tz : ''), bg, fg);
      }).then(function (url) {
        var a = document.createElement('a');
        a.href = url;
        a.download = c.id + '.png';
        document.body.appendChild(a);
        a.click();
        a.remove();
      });
    }

    // rangeText is the time a frame covers: a time axis' first bucket to
    // its last, else the chart's window.
    function rangeText(k, frame) {
      var cats = (frame && frame.categories) || [];
      if (k.x === 'time' && cats.length) {
        var b = core.bucketOf(cats);
        return core.timeLabel(cats[0], zone) + ' – ' + core.bucketRange(cats[cats.length - 1], b, zone).split(' – ').pop();
      }
      return k.lookback ? 'the last ' + spanText(k.lookback) : 'since the start';
    }

    function clockOf(t) { return zone ? core.timeLabel(t.toISOString(), zone) : core.clock(t); }


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

    // ---- legend: one button per series, in a box that scrolls ----------------

    function makeLegend(k, el) {
      var box = document.createElement('div');
      box.className = 'legend';
      box.setAttribute('role', 'group');
      box.setAttribute('aria-label', 'Series of ' + k.title + ' (press to show or hide)');
      box.hidden = true;
      el.parentNode.insertBefore(box, el.nextSibling);
      box.addEventListener('click', function (e) {
        var b = e.target.closest('button[data-series]');
        if (!b) return;
        var name = b.dataset.series;
        var on = b.getAttribute('aria-pressed') !== 'true';
        b.setAttribute('aria-pressed', String(on));
        if (on) k.hidden.delete(name);
        else k.hidden.add(name);
        var c = lv.charts.get(k.id);
        if (c) c.view.action({ type: on ? 'legendSelect' : 'legendUnSelect', name: name });
      });
      return box;
    }

    function fillLegend(k, c, frame) {
      var names = ((frame && frame.series) || []).map(function (s) { return String(s.name); });
      var key = names.join('\n');
      if (key === k.legendKey) return;
      k.legendKey = key;
      var colours = core.palette(names.length);
      k.legend.hidden = names.length < 2;
      var buttons = names.map(function (name, i) {
        var b = document.createElement('button');
        b.type = 'button';
        b.className = 'legend-item';
        b.dataset.series = name;
        b.setAttribute('aria-pressed', String(!k.hidden.has(name)));
        b.title = name;
        var sw = document.createElement('span');
        sw.className = 'swatch';
        sw.style.background = colours[i]; // CSSOM: allowed by the page's CSP
        var label = document.createElement('span');
        label.className = 'name';
        label.textContent = name;
        b.append(sw, label);
        return b;
      });
      k.legend.replaceChildren.apply(k.legend, buttons);
    }

    // ---- empty state: what is missing, and a curl that sends it ---------------

    function spanText(sec) {
      if (sec % 3600 === 0) return (sec / 3600) + ' h';
      if (sec % 60 === 0) return (sec / 60) + ' m';
      return sec + ' s';
    }

    // shellQuote quotes s for a POSIX shell.
    function shellQuote(s) { return "'" + String(s).replace(/'/g, "'\\''") + "'"; }

    function showEmpty(k, on) {
      if (!k) return;
      k.box.classList.toggle('is-empty', on);
      if (!on) {
        if (k.empty) k.empty.hidden = true;
        return;
      }
      if (k.updated) {
        k.updated.textContent = '';
        k.updated.removeAttribute('title');
      }
      if (!k.empty) k.empty = makeEmpty(k);
      k.empty.hidden = false;
    }

    function makeEmpty(k) {
      var box = document.createElement('div');
      box.className = 'empty-state';
      box.setAttribute('data-empty', '');
      var what = document.createElement('p');
      what.className = 'empty-what';
      var curl;
      if (k.metric) {
        var code = document.createElement('code');
        code.textContent = k.metric;
        what.append('No samples of ', code, k.lookback ? ' in the last ' + spanText(k.lookback) : ' yet');
        curl = 'curl -X POST ' + location.origin + '/api/v1/ingest -d ' + shellQuote(k.sample || JSON.stringify({ metric: k.metric, value: 1 }));
      } else {
        what.append('No data yet: this chart is set through its API.');
        curl = 'curl -X PUT ' + location.origin + '/api/v1/charts/' + encodeURIComponent(k.id) + '/data -H ' +
          shellQuote('Authorization: Bearer ADMIN_TOKEN') + ' -d ' +
          shellQuote('{"categories":["a"],"series":[{"name":"s","data":[1]}]}');
      }
      var how = document.createElement('p');
      how.className = 'empty-how';
      var line = document.createElement('code');
      line.className = 'curl';
      line.textContent = curl;
      // It scrolls sideways when long: reachable by keyboard (WCAG 2.1.1).
      line.tabIndex = 0;
      line.setAttribute('role', 'group');
      line.setAttribute('aria-label', 'Command that sends a sample');
      var copy = document.createElement('button');
      copy.type = 'button';
      copy.className = 'ghost';
      copy.textContent = 'copy';
      copy.setAttribute('aria-label', 'Copy the command');
      copy.addEventListener('click', function () {
        var done = function () { copy.textContent = 'copied'; };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(curl).then(done, function () { selectText(line); });
        } else {
          selectText(line);
        }
      });
      how.append(line, copy);
      box.append(what, how);
      k.box.appendChild(box);
      return box;
    }

    function selectText(el) {
      var r = document.createRange();
      r.selectNodeContents(el);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(r);
    }

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
