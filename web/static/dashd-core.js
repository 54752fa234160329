/*
 * dashd-core.js: what dashd's pages (dashd.js) and the <dashd-chart>
 * element (/embed.js) share. Plain JavaScript, no build step, no globals
 * besides the one name it declares (dashdCore; /embed.js wraps it in a
 * function, so there it is declared nowhere).
 *
 * live() draws charts from /api/v1/charts/{id}/option, then applies the
 * live frames of the stream (/api/v1/stream over WebSocket,
 * /api/v1/stream/sse as a fallback): the newest frame per chart per
 * animation frame, never one older than what is shown, except the first
 * after a (re)connect, which is the server's snapshot and always wins.
 * Memory stays flat however long it runs: one ECharts instance per chart,
 * reused; one pending frame per chart; nothing appended per frame. The
 * drawing itself is dashd-paint.js's (a worker where the browser can): live
 * holds a view per chart and sends it the option and the frames.
 *
 * Nothing that comes from data is ever parsed as HTML: text goes through
 * textContent, and the ECharts tooltip is drawn on the canvas (richText).
 *
 * Under Node (tests) it exports its pure functions.
 */
var dashdCore = (function () {
  'use strict';

  var API = '/api/v1';
  var BACKOFF_BASE_MS = 500;
  var BACKOFF_CAP_MS = 30000;
  var BACKOFF_FLOOR_MS = 100;
  var WS_FAILURES_BEFORE_SSE = 3; // handshakes failed in a row, never open
  var STALE_AFTER_MS = 5000; // "reconnecting…" turns into "stale since …"
  // The number format (dashd-format.js): loaded before this file in pages,
  // the paint worker and /embed.js; required under Node.
  var fmt = typeof dashdFormat !== 'undefined' ? dashdFormat : require('./dashd-format.js');

  // ---- pure functions (exported for tests) ---------------------------------

  // acceptFrame decides whether frame is newer than what chart holds, and
  // if so records its seq. The first frame after a (re)connect is always
  // taken: it is the server's current state, and a restarted server starts
  // its seq again from the beginning.
  function acceptFrame(chart, frame) {
    if (!frame || typeof frame.seq !== 'number') return false;
    if (chart.resync) {
      chart.resync = false;
      chart.seq = frame.seq;
      return true;
    }
    if (chart.seq !== null && chart.seq !== undefined && frame.seq <= chart.seq) return false;
    chart.seq = frame.seq;
    return true;
  }

  // announcementsOf returns the dashboard announcements of one stream
  // message: {"type":"dashboard","id","version"} (or "deleted": true), alone
  // or inside a batch.
  function announcementsOf(msg) {
    if (!msg || typeof msg !== 'object') return [];
    var all = msg.type === 'batch' && Array.isArray(msg.frames) ? msg.frames : [msg];
    return all.filter(function (a) { return a && a.type === 'dashboard' && typeof a.id === 'string'; });
  }

  // framesOf returns the frames of one stream message (parsed JSON): a
  // frame, or a batch of them.
  function framesOf(msg) {
    if (!msg || typeof msg !== 'object') return [];
    if (msg.type === 'frame') return [msg];
    if (msg.type === 'batch' && Array.isArray(msg.frames)) {
      return msg.frames.filter(function (f) { return f && f.type === 'frame' && typeof f.chart === 'string'; });
    }
    return [];
  }

  // categoryAxis names the axis that carries the categories.
  function categoryAxis(chart) { return chart.horizontal ? 'yAxis' : 'xAxis'; }
  function valueAxis(chart) { return chart.horizontal ? 'xAxis' : 'yAxis'; }

  // frameOption is the setOption argument that draws frame on chart, to be
  // used with {replaceMerge: ['series']} so that a series the frame no
  // longer has disappears. The threshold series ("t") of the base option,
  // if any, is kept.
  //
  // A chart of more than LARGE_BARS bars is drawn in ECharts' large mode
  // (one path per series): about half the main-thread time per update at
  // 50 × 10 bars, and nothing lost that dashd uses (tooltips are per axis).
  // Such a chart is drawn without animation: its bars jump anyway, and what
  // still animated (the axes' labels and ticks, moved to their new places)
  // repainted the whole canvas every frame for 300 ms after each update,
  // which at 10 updates a second cost the main thread twice as much as the
  // updates themselves. A smaller chart keeps the animation of its base
  // option (chart.animation, on unless that turned it off), see applyFrame.
  var LARGE_BARS = 250;
  function frameOption(chart, frame) {
    var categories = frame.categories || [];
    var large = categories.length * (frame.series || []).length > LARGE_BARS;
    var series = (frame.series || []).map(function (s, i) {
      var o = { id: 's:' + s.name, name: s.name, type: 'bar', data: s.data || [] };
      if (chart.type !== 'grouped') o.stack = 'total';
      // Patterns (dashd-a11y.js, through the painter's patch): one per
      // series, in palette order; [] turns them off on series drawn before.
      if (chart.decals) o.itemStyle = { decal: chart.decals.length ? chart.decals[i % chart.decals.length] : 'none' };
      if (large) {
        o.large = true;
        o.largeThreshold = 0;
      }
      return o;
    });
    var n = series.length;
    if (chart.threshold) series.push(chart.threshold);
    var opt = { series: series, legend: { show: n > 1 }, animation: !large && chart.animation !== false };
    opt[categoryAxis(chart)] = { data: categories };
    return opt;
  }

  // An update is animated for UPDATE_ANIMATION_MS (ECharts' default
  // animationDurationUpdate, which dashd's options keep): a chart drawn
  // again sooner than that is drawn without animation. Its bars would only
  // chase values they never reach, and every animation frame repaints the
  // whole canvas: at 10 frames a second a 12 × 3 chart cost the main thread
  // twice as much animated.
  var UPDATE_ANIMATION_MS = 300;

  // applyFrame draws frame on c (a chart of dashd-paint.js's painter: its
  // ECharts instance c.ec, drawn from its base option) at time now, in ms,
  // and returns the option it gave setOption.
  function applyFrame(c, frame, now) {
    var fast = typeof c.drawnAt === 'number' && now - c.drawnAt < UPDATE_ANIMATION_MS;
    c.drawnAt = now;
    var opt = frameOption(c, frame);
    if (fast) opt.animation = false;
    var key = opt.series.map(function (s) { return s.id; }).join('\n');
    if (key !== c.seriesKey) {
      // ECharts 6.1 re-shows an axis tooltip from cached series indices
      // after setOption, and throws when a series has gone
      // (apache/echarts#21732): hide it when the series change.
      c.seriesKey = key;
      c.ec.dispatchAction({ type: 'hideTip' });
    }
    c.ec.setOption(opt, { replaceMerge: ['series'] });
    return opt;
  }

  // backoffDelay is the wait before reconnect attempt n (0-based):
  // exponential with full jitter, capped.
  function backoffDelay(attempt, random) {
    var ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * Math.pow(2, Math.min(attempt, 16)));
    return Math.max(BACKOFF_FLOOR_MS, Math.floor((random || Math.random)() * ceiling));
  }

  // formatOf is how chart writes its numbers: the format its option
  // carries (chart.format, dashd.format in the option: see decorate and
  // live), else its unit alone. The rules are dashd-format.js's.
  function formatOf(chart) {
    if (chart.format) return chart.format;
    return { unit: chart.type === 'percent' ? '%' : chart.unit || '' };
  }

  // axisValue formats a value-axis label: every label of the axis (its
  // {min, max, interval}, see axisOf) in one unit and with the same
  // decimals, so 0.0009-0.1 reads 0, 0.02, ..., 0.10 and 7000 ms reads 7 s.
  function axisValue(v, chart, axis) {
    if (typeof v !== 'number' || !isFinite(v)) return '';
    return fmt.tick(v, formatOf(chart), axis || null);
  }

  // tooltipValue formats a value in the tooltip and the table: in the unit
  // it reads best in, with the chart's decimals (three significant digits
  // when it sets none: 0.00089 stays 0.00089).
  function tooltipValue(v, chart) {
    if (typeof v !== 'number' || !isFinite(v)) return '–';
    return fmt.value(v, formatOf(chart));
  }

  // axisOf reads the extent and tick step ECharts chose for value axis
  // index of chart (drawn by c.ec), which a label's formatter is not told.
  // ECharts computes them before it writes the labels. null where the
  // chart has no instance (tests) or ECharts hides them.
  function axisOf(chart, index) {
    try {
      var scale = chart.ec.getModel().getComponent(valueAxis(chart), index).axis.scale;
      var e = scale.getExtent();
      var interval = 0;
      if (typeof scale.getInterval === 'function') {
        interval = scale.getInterval(); // ECharts 5
      } else {
        // ECharts 6 keeps the step to itself: read it off the ticks, away
        // from the ends (an end may be a fixed min or max, not a step).
        var ticks = scale.getTicks().map(function (t) { return t.value; });
        if (ticks.length >= 3) interval = ticks[2] - ticks[1];
        else if (ticks.length === 2) interval = ticks[1] - ticks[0];
      }
      return { min: e[0], max: e[1], interval: interval };
    } catch (err) {
      return null;
    }
  }

  function pad2(n) { return n < 10 ? '0' + n : String(n); }

  // clock is HH:MM:SS of d in local time.
  function clock(d) {
    return pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds());
  }

  // timeFormat returns a formatter of HH:MM:SS in the IANA time zone tz
  // ("Europe/Paris", "UTC"), or null for the browser's own zone (also when
  // tz is unknown to the browser).
  function timeFormat(tz) {
    if (!tz) return null;
    try {
      return new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    } catch (e) {
      return null;
    }
  }

  // timeLabel turns an RFC 3339 category into HH:MM:SS, local or in the
  // zone of fmt (timeFormat); anything else is shown as it is.
  function timeLabel(v, fmt) {
    var d = new Date(v);
    if (isNaN(d.getTime())) return String(v);
    return fmt ? fmt.format(d) : clock(d);
  }

  function asArray(v) {
    if (Array.isArray(v)) return v;
    return v ? [v] : [{}];
  }

  // decorate adds to a server-built option what only JavaScript can carry
  // (formatters) and what the page does differently: the title is in the
  // page, the background is the card's, the tooltip is drawn on the canvas.
  // It returns the option and the threshold series, if there is one, and
  // sets chart.format to the number format the option carries.
  function decorate(option, chart) {
    option.title = { show: false };
    option.backgroundColor = 'transparent';
    option.grid = asArray(option.grid).map(function (g) {
      return Object.assign({}, g, { top: 16 });
    });
    option.tooltip = Object.assign({}, Array.isArray(option.tooltip) ? option.tooltip[0] : option.tooltip, {
      renderMode: 'richText',
      confine: true,
      valueFormatter: function (v) { return tooltipValue(v, chart); },
    });
    chart.format = fmt.ofOption(option) || chart.format || null;
    option[valueAxis(chart)] = asArray(option[valueAxis(chart)]).map(function (a, i) {
      var o = Object.assign({}, a);
      o.axisLabel = Object.assign({}, a.axisLabel, { formatter: function (v) { return axisValue(v, chart, axisOf(chart, i)); } });
      if (chart.type === 'percent') { o.min = 0; o.max = 100; }
      return o;
    });
    if (chart.x === 'time') {
      option[categoryAxis(chart)] = asArray(option[categoryAxis(chart)]).map(function (a) {
        var o = Object.assign({}, a);
        var fmt = chart.timeFormat || null;
        o.axisLabel = Object.assign({}, a.axisLabel, { formatter: function (v) { return timeLabel(v, fmt); } });
        o.axisPointer = Object.assign({}, a.axisPointer, {
          label: { formatter: function (p) { return timeLabel(p.value, fmt); } },
        });
        return o;
      });
    }
    // The threshold series keeps one colour (not the palette's next one,
    // which moves as series come and go) and its labels inside the grid.
    var threshold = null;
    (option.series || []).forEach(function (s) {
      if (!s || s.id !== 't') return;
      var ml = Object.assign({}, s.markLine);
      ml.symbol = ml.symbol || ['none', 'none'];
      ml.label = Object.assign({ position: 'insideEndTop' }, ml.label);
      ml.lineStyle = Object.assign({ color: '#e5484d', type: 'dashed', width: 1.5 }, ml.lineStyle);
      s.markLine = ml;
      threshold = s;
    });
    return { option: option, threshold: threshold };
  }

  // withToken adds ?token= to a URL of dashd.
  function withToken(url, token) {
    if (!token) return url;
    return url + (url.indexOf('?') < 0 ? '?' : '&') + 'token=' + encodeURIComponent(token);
  }

  // streamQuery is the query naming what a page follows: its dashboard, or
  // its charts (an embed).
  function streamQuery(dashboard, chartIDs) {
    if (dashboard) return 'dashboard=' + encodeURIComponent(dashboard);
    return 'charts=' + chartIDs.map(encodeURIComponent).join(',');
  }

  // wsURL is the WebSocket address of path at loc (a Location or URL:
  // dashd's origin).
  function wsURL(loc, path) {
    return (loc.protocol === 'https:' ? 'wss://' : 'ws://') + loc.host + path;
  }

  // tableOf is a frame as the rows of a table: a header row (the category
  // axis name, then each series), then one row per category with the
  // values formatted as the tooltip shows them. Cells are plain strings,
  // for textContent.
  function tableOf(frame, chart) {
    var series = (frame && frame.series) || [];
    var cats = (frame && frame.categories) || [];
    var head = [chart.x === 'time' ? 'time' : (chart.x || 'category')];
    series.forEach(function (s) { head.push(String(s.name)); });
    var rows = [head];
    cats.forEach(function (cat, i) {
      var row = [chart.x === 'time' ? timeLabel(cat, chart.timeFormat) : String(cat)];
      series.forEach(function (s) { row.push(tooltipValue((s.data || [])[i], chart)); });
      rows.push(row);
    });
    return rows;
  }

  // errorText reads the reason of a refused request: the "error" of a JSON
  // body, or the first line of a text one.
  function errorText(status, body) {
    var msg = '';
    try {
      var j = JSON.parse(body);
      if (j && typeof j.error === 'string') msg = j.error;
    } catch (e) {
      msg = String(body || '').split('\n')[0];
    }
    return 'HTTP ' + status + (msg ? ': ' + msg.slice(0, 300) : '');
  }

  // ---- the live charts --------------------------------------------------------

  // live draws cfg.charts and keeps them live. cfg:
  //   paint       what draws: a host of dashd-paint.js (dashdPaint.host)
  //   base        dashd's origin ("" for the page's own)
  //   token       an embed (or admin) token, or ""
  //   dashboard   the dashboard followed, or "" to follow cfg.charts by id
  //   charts      [{id, type, horizontal, x, unit, el, tz}]
  //   theme       the ECharts theme name: "dark" or "default"
  //   onDraw      function (chart, frame, time): after a frame is drawn
  //   onError     function (chart, text): text "" clears it
  //   onLink      function (state, text, transport): connecting, live,
  //               reconnecting, stale, refused
  // It returns {charts (a Map by id; each chart's view draws it, see
  // dashdPaint.host), setTheme(name), redraw(), pause(), resume(),
  // paused()}.
  function live(cfg) {
    var paint = cfg.paint;
    var base = cfg.base || '';
    var token = cfg.token || '';
    var noop = function () {};
    var onDraw = cfg.onDraw || noop;
    var onError = cfg.onError || noop;
    var onLink = cfg.onLink || noop;
    var onDashboard = cfg.onDashboard || noop; // the dashboard's definition was announced
    var loc = base ? new URL(base) : window.location;
    var credentials = base ? 'omit' : 'same-origin';

    var charts = new Map();
    cfg.charts.forEach(function (d) {
      if (!d.id) return;
      var c = {
        id: d.id,
        type: d.type || 'grouped',
        horizontal: !!d.horizontal,
        x: d.x || '',
        unit: d.unit || '',
        tz: d.tz || '',
        timeFormat: timeFormat(d.tz),
        el: d.el,
        view: null,
        seq: null,
        resync: true,
        ready: false,
        loading: false,
        pending: null, // the newest accepted frame not drawn yet
        shown: null, // the frame drawn last
        heldBase: null, // a base option that came while paused
        attempt: 0,
        retry: null,
      };
      c.view = paint.open(d.el, c, cfg.theme || 'default');
      charts.set(d.id, c);
    });

    // Resizing and drawing both wait for the next animation frame, so a
    // burst of frames costs one setOption per chart.
    var drawQueued = false;
    var resizeQueued = new Set();
    function queueDraw() {
      if (drawQueued) return;
      drawQueued = true;
      requestAnimationFrame(function () {
        drawQueued = false;
        resizeQueued.forEach(function (c) { c.view.resize(); });
        resizeQueued.clear();
        charts.forEach(draw);
      });
    }
    var byEl = new Map();
    charts.forEach(function (c) { byEl.set(c.el, c); });
    if (window.ResizeObserver) {
      var ro = new ResizeObserver(function (entries) {
        entries.forEach(function (e) {
          var c = byEl.get(e.target);
          if (c) resizeQueued.add(c);
        });
        queueDraw();
      });
      charts.forEach(function (c) { ro.observe(c.el); });
    } else {
      window.addEventListener('resize', function () {
        charts.forEach(function (c) { resizeQueued.add(c); });
        queueDraw();
      });
    }

    // Pause (WCAG 2.2.2): while paused, the stream goes on and each chart
    // keeps its newest accepted frame in c.pending, but nothing already
    // drawn is drawn again with new data (a chart that has drawn nothing
    // yet still draws its first frame: nothing moves); a base option that
    // arrives meanwhile (a reconnect) waits in c.heldBase. resume() draws
    // the newest of each chart at once. See the returned pause/resume/paused.
    var paused = false;

    function draw(c) {
      if (!c.ready || !c.pending) return;
      if (paused && c.shown) return;
      var f = c.pending;
      c.pending = null;
      c.shown = f;
      c.view.draw(f);
      var t = new Date(f.time);
      if (isNaN(t.getTime())) t = new Date();
      onDraw(c, f, t);
    }

    // loadOption draws the chart's base option, retrying with backoff. The
    // frame last drawn (or waiting) is drawn again on top of it: the stream
    // is the newest word on the data.
    function loadOption(c) {
      if (c.loading) return;
      c.loading = true;
      clearTimeout(c.retry);
      if (!c.ready) c.view.loading(true);
      fetch(withToken(base + API + '/charts/' + encodeURIComponent(c.id) + '/option', token), {
        headers: { Accept: 'application/json' },
        credentials: credentials,
      }).then(function (res) {
        if (res.ok) return res.json();
        return res.text().then(function (body) {
          var err = new Error('the chart could not be loaded (' + errorText(res.status, body) + ')');
          err.status = res.status;
          throw err;
        });
      }).then(function (option) {
        c.format = fmt.ofOption(option); // for tableOf
        c.view.loading(false);
        if (paused && c.ready) {
          c.loading = false;
          c.attempt = 0;
          onError(c, '');
          c.heldBase = option;
          return;
        }
        c.view.base(option);
        c.ready = true;
        c.loading = false;
        c.attempt = 0;
        onError(c, '');
        if (!c.pending && c.shown) c.pending = c.shown;
        queueDraw();
      }).catch(function (err) {
        c.loading = false;
        c.view.loading(false);
        onError(c, String(err && err.message ? err.message : err));
        // A refused token will not get better by asking again soon.
        var wait = err && err.status === 401 ? BACKOFF_CAP_MS : backoffDelay(c.attempt++);
        c.retry = setTimeout(function () { loadOption(c); }, wait);
      });
    }

    function onMessage(text) {
      var msg;
      try {
        msg = JSON.parse(text);
      } catch (e) {
        return;
      }
      framesOf(msg).forEach(function (f) {
        var c = charts.get(f.chart);
        if (c && acceptFrame(c, f)) c.pending = f;
      });
      announcementsOf(msg).forEach(function (a) {
        if (a.id === cfg.dashboard) onDashboard(a);
      });
      queueDraw();
    }

    // ---- the link: WebSocket, or SSE where WebSocket never opens -------------

    // cfg.vars: the dashboard variables chosen (?var-NAME=value), passed on.
    var query = streamQuery(cfg.dashboard, Array.from(charts.keys())) + (cfg.vars || '');
    var transport = 'WebSocket';
    var everOpened = false;
    var wsFailures = 0;
    var attempt = 0;
    var retryTimer = null;
    var staleTimer = null;
    var downSince = null;
    var conn = null;

    function setLink(state, text) { onLink(state, text, transport); }

    function opened() {
      var reconnect = everOpened;
      everOpened = true;
      wsFailures = 0;
      attempt = 0;
      downSince = null;
      clearTimeout(staleTimer);
      charts.forEach(function (c) {
        c.resync = true;
        // After a break the definition may have changed too (a restart).
        if (reconnect || !c.ready) loadOption(c);
      });
      setLink('live', 'live');
    }

    function markDown() {
      if (downSince !== null) return;
      downSince = new Date();
      clearTimeout(staleTimer);
      staleTimer = setTimeout(function () {
        setLink('stale', 'stale since ' + clock(downSince));
      }, STALE_AFTER_MS);
      setLink('reconnecting', 'reconnecting…');
    }

    function dropped(neverOpened) {
      conn = null;
      if (neverOpened && transport === 'WebSocket' && !everOpened) {
        wsFailures++;
        if (wsFailures >= WS_FAILURES_BEFORE_SSE && window.EventSource) transport = 'SSE';
      }
      markDown();
      clearTimeout(retryTimer);
      retryTimer = setTimeout(connect, backoffDelay(attempt++));
    }

    // ended stops the link for good: the server ended the stream on
    // purpose (the embed token expired or was revoked), and a reconnect
    // with the same token would be refused.
    function ended(reason) {
      conn = null;
      clearTimeout(retryTimer);
      clearTimeout(staleTimer);
      retryTimer = null;
      setLink('refused', reason || 'the server ended the stream');
    }

    function connect() {
      retryTimer = null;
      if (conn) return;
      if (transport === 'WebSocket') {
        var ws = new WebSocket(withToken(wsURL(loc, API + '/stream?' + query), token));
        var open = false;
        conn = ws;
        ws.onopen = function () { open = true; opened(); };
        ws.onmessage = function (e) { if (typeof e.data === 'string') onMessage(e.data); };
        ws.onclose = function (e) {
          if (conn !== ws) return;
          if (e.code === 1008) ended(e.reason); // policy: do not retry
          else dropped(!open);
        };
        ws.onerror = function () { /* onclose follows */ };
        return;
      }
      var es = new EventSource(withToken(base + API + '/stream/sse?' + query, token));
      var wasOpen = false;
      conn = es;
      es.addEventListener('open', function () { wasOpen = true; opened(); });
      es.addEventListener('frame', function (e) { onMessage(e.data); });
      es.addEventListener('end', function (e) {
        if (conn !== es) return;
        es.close();
        var reason = '';
        try { reason = JSON.parse(e.data).reason; } catch (err) { /* keep "" */ }
        ended(reason);
      });
      es.addEventListener('error', function () {
        if (conn !== es) return;
        if (es.readyState === EventSource.CLOSED) {
          // The server refused or the browser gave up: retry on our terms.
          es.close();
          dropped(false);
        } else if (wasOpen) {
          // EventSource reconnects by itself; say so meanwhile.
          wasOpen = false;
          markDown();
        }
      });
    }

    window.addEventListener('online', function () {
      if (retryTimer !== null) {
        clearTimeout(retryTimer);
        connect();
      }
    });

    charts.forEach(loadOption);
    setLink('connecting', 'connecting…');
    connect();

    return {
      charts: charts,
      setTheme: function (name) {
        charts.forEach(function (c) { c.view.theme(name); });
      },
      redraw: function () {
        charts.forEach(function (c) {
          if (!c.pending && c.shown) c.pending = c.shown;
          resizeQueued.add(c);
        });
        queueDraw();
      },
      // pause() stops every chart of this live() where it is (WCAG 2.2.2),
      // resume() draws the newest state of each at once and goes on live,
      // paused() says which. The stream stays open while paused: each chart
      // keeps only its newest frame (c.pending; memory stays flat), and
      // c.shown stays the frame on screen, which is what descriptions and
      // tables read. Shared by the Pause/Live button (dashd-a11y.js) and
      // rewind (which pauses, draws frames of its own choosing through
      // c.view, and resumes to catch up with live).
      pause: function () { paused = true; },
      resume: function () {
        if (!paused) return;
        paused = false;
        charts.forEach(function (c) {
          if (c.heldBase) {
            c.view.base(c.heldBase);
            c.heldBase = null;
            if (!c.pending && c.shown) c.pending = c.shown;
          }
        });
        queueDraw();
      },
      paused: function () { return paused; },
    };
  }

  var exported = {
    acceptFrame: acceptFrame,
    framesOf: framesOf,
    announcementsOf: announcementsOf,
    frameOption: frameOption,
    applyFrame: applyFrame,
    backoffDelay: backoffDelay,
    axisValue: axisValue,
    tooltipValue: tooltipValue,
    timeFormat: timeFormat,
    timeLabel: timeLabel,
    clock: clock,
    decorate: decorate,
    withToken: withToken,
    streamQuery: streamQuery,
    wsURL: wsURL,
    tableOf: tableOf,
    errorText: errorText,
    live: live,
  };
  if (typeof window === 'undefined' && typeof module === 'object' && module && module.exports) {
    module.exports = exported;
  }
  return exported;
})();
