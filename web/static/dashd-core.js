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
  var STALE_AFTER_MS = 5000; // "reconnecting…" turns into "stale · N s ago"
  // The server sends a frame or a heartbeat at least every 2 s on an open
  // link (stream.Config.HeartbeatEvery): three periods without either and the
  // link is taken for silent (a frozen server, a half-open connection),
  // and the badge turns stale though the socket looks open.
  var SILENT_AFTER_MS = 6000;
  // A link silent this long is closed and opened again: a half-open TCP
  // connection (a laptop that slept, a NAT that forgot it) never closes by
  // itself.
  var SILENT_RECONNECT_MS = 30000;
  var BUSY_MAX_MS = 2000; // the longest wait for the painter to draw a frame
  var CATCH_UP_MS = 100; // see catchUp in live
  // The paint budget (issue 17): the share of a core each painter may
  // spend drawing the frames of the charts on the screen, and the longest
  // a chart on the screen waits for its turn. See draw in live.
  var PAINT_BUDGET = 0.1;
  var MAX_PAINT_GAP_MS = 1000;
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

  // paintMode is how a page trades the freshness of its charts for CPU
  // (issue 17), from what a user typed (?paint= on a page, the paint
  // attribute of <dashd-chart>): "fresh" draws every visible chart's
  // newest frame as it comes, without the paint budget; anything else,
  // unknown values included, is the default "budget" (see draw in live).
  // Never an error: a wrong value only leaves the default.
  function paintMode(v) {
    return String(v === null || v === undefined ? '' : v).trim().toLowerCase() === 'fresh' ? 'fresh' : 'budget';
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
    // Past the theme's palette, colours would repeat inside a stack: each
    // series then gets its own. Up to it the option's palette is used, so
    // that the palette chosen on the page (dashd-a11y.js) applies.
    var nSeries = (frame.series || []).length;
    var colours = nSeries > BASE_PALETTE.length ? palette(nSeries) : null;
    // The still-filling last bucket of a time axis is drawn lighter.
    var partial = chart.x === 'time' && !large && isPartial(frame, bucketOf(categories));
    var series = (frame.series || []).map(function (s, i) {
      var data = s.data || [];
      if (partial && data.length === categories.length) {
        data = data.slice();
        data[data.length - 1] = { value: data[data.length - 1], itemStyle: { opacity: PARTIAL_OPACITY } };
      }
      var o = { id: 's:' + s.name, name: s.name, type: 'bar', data: data };
      if (colours) o.itemStyle = { color: colours[i] };
      if (chart.type !== 'grouped') o.stack = 'total';
      // Patterns (dashd-a11y.js, through the painter's patch): one per
      // series, in palette order; [] turns them off on series drawn before.
      if (chart.decals) o.itemStyle = Object.assign({}, o.itemStyle, { decal: chart.decals.length ? chart.decals[i % chart.decals.length] : 'none' });
      if (large) {
        o.large = true;
        o.largeThreshold = 0;
      }
      return o;
    });
    var n = series.length;
    if (chart.threshold) series.push(chart.threshold);
    // A page draws its own legend (chart.htmlLegend): one that scrolls
    // and is reached by keyboard.
    var opt = { series: series, legend: { show: n > 1 && !chart.htmlLegend, type: 'scroll' }, animation: !large && chart.animation !== false };
    opt[categoryAxis(chart)] = { data: categories };
    return opt;
  }

  // Animation (issue 17): an update glides only where the eye can follow
  // it and the cost cannot pile up. Every animation frame repaints the
  // whole canvas, so 24 charts animating 300 ms twice a second kept a core
  // busy. An update is animated, for UPDATE_ANIMATION_MS, only when the
  // chart's previous draw was at least ANIMATE_GAP_MS ago (a chart updated
  // once a second or faster jumps: its bars would only chase values they
  // never reach), when the draw is not a catch-up (still: a chart coming
  // back on screen shows its newest frame at once), and while fewer than
  // MAX_ANIMATING charts of the same painter are animating (budget).
  var UPDATE_ANIMATION_MS = 250;
  var ANIMATE_GAP_MS = 1000;
  var MAX_ANIMATING = 2;

  // animationBudget is a painter's count of the animations running; one
  // per painter, handed to every applyFrame of its charts.
  function animationBudget() { return { ends: [] }; }

  // applyFrame draws frame on c (a chart of dashd-paint.js's painter: its
  // ECharts instance c.ec, drawn from its base option) at time now, in ms,
  // and returns the option it gave setOption, or null when the frame draws
  // exactly what is drawn already (nothing is done then: no setOption, no
  // paint). still: draw without animation; budget: the painter's
  // animationBudget, if any.
  //
  // What a frame costs (issue 17, profiled in BenchmarkBrowserWallProfile):
  // most of a draw is ECharts' setOption, whatever the option says (its
  // update pipeline and the canvas paint run in full each time); what the
  // option says decides the model merge. So a frame that changes only the
  // numbers (same categories, series, colours, legend, patterns: c.shapeKey)
  // is given as the series' data alone, merged into what is drawn (no
  // replaceMerge, no axis, legend or palette to merge again), and a frame
  // that changes nothing is not drawn at all. A change of shape draws the
  // whole frame option as before.
  function applyFrame(c, frame, now, still, budget) {
    var opt = frameOption(c, frame);
    var shape = shapeKey(opt);
    var same = sameShape(shape, c.shapeKey);
    var data = same ? dataKey(opt) : null;
    if (same && !still && data === c.dataKey) return null;
    var slow = typeof c.drawnAt !== 'number' || now - c.drawnAt >= ANIMATE_GAP_MS;
    c.drawnAt = now;
    var animate = opt.animation && slow && !still;
    if (animate && budget) {
      budget.ends = budget.ends.filter(function (t) { return t > now; });
      animate = budget.ends.length < MAX_ANIMATING;
      if (animate) budget.ends.push(now + UPDATE_ANIMATION_MS);
    }
    opt.animation = animate;
    if (animate) opt.animationDurationUpdate = UPDATE_ANIMATION_MS;
    var key = opt.series.map(function (s) { return s.id; }).join('\n');
    if (key !== c.seriesKey) {
      // ECharts 6.1 re-shows an axis tooltip from cached series indices
      // after setOption, and throws when a series has gone
      // (apache/echarts#21732): hide it when the series change.
      c.seriesKey = key;
      c.ec.dispatchAction({ type: 'hideTip' });
    }
    c.dataKey = data === null ? dataKey(opt) : data;
    if (same) {
      var update = {
        series: opt.series.filter(function (s) { return s !== c.threshold; }).map(function (s) { return { id: s.id, data: s.data }; }),
        animation: animate,
      };
      if (animate) update.animationDurationUpdate = UPDATE_ANIMATION_MS;
      c.ec.setOption(update);
      return opt;
    }
    c.shapeKey = shape;
    c.ec.setOption(opt, { replaceMerge: ['series'] });
    return opt;
  }

  // shapeKey is what a frame option (of frameOption) draws besides its
  // numbers and its animation: two options of the same shapeKey differ only
  // in the data of their bar series. dataKey is those data. Built by hand
  // (JSON.stringify of the parts, no replacer): they run for every frame.
  function shapeKey(opt) {
    var parts = [JSON.stringify((opt.xAxis || opt.yAxis || {}).data || null), opt.legend && opt.legend.show];
    for (var i = 0; i < opt.series.length; i++) {
      var s = opt.series[i];
      if (s.type !== 'bar') {
        parts.push(s); // the threshold series: the same object until the base option changes
        continue;
      }
      parts.push(s.id + '|' + (s.stack || '') + '|' + (s.large ? 1 : 0) + '|' + (s.itemStyle ? JSON.stringify(s.itemStyle) : ''));
    }
    return parts;
  }
  function sameShape(a, b) {
    if (!a || !b || a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  function dataKey(opt) {
    var parts = [];
    for (var i = 0; i < opt.series.length; i++) {
      if (opt.series[i].type === 'bar') parts.push(JSON.stringify(opt.series[i].data));
    }
    return parts.join('\n');
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

  // ageText says how long ago something was, ms milliseconds: "12 s ago",
  // "3 min ago", "2 h ago".
  function ageText(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    return Math.floor(s / 3600) + ' h ago';
  }

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
    readingAids(option, chart);
    return { option: option, threshold: threshold };
  }

  // ---- reading aids (issue 19) ------------------------------------------------

  // escapeRich makes s safe as text inside ECharts rich text, where
  // "{name|text}" is markup: a zero-width space after every "{" keeps a
  // route like /api/{customerId|x}/orders from being read as a style,
  // while it looks the same. Every user text that goes through a
  // formatter goes through it.
  function escapeRich(s) {
    return String(s).replace(/\{/g, '{\u200b');
  }

  // The first colours are ECharts' own; past them, colours are made so
  // that none repeats within a chart (a stack of 24 series has 24): hues
  // a golden angle apart, in three lightnesses.
  var BASE_PALETTE = ['#5070dd', '#b6d634', '#505372', '#ff994d', '#0ca8df', '#ffd10a', '#fb628b', '#785db0', '#3fbe95'];
  function palette(n) {
    if (n <= BASE_PALETTE.length) return BASE_PALETTE.slice(0, Math.max(n, 0));
    var out = [];
    for (var i = 0; i < n; i++) {
      var hue = Math.round((i * 137.508) % 360);
      var light = [52, 38, 66][i % 3];
      out.push('hsl(' + hue + ', ' + (i % 2 ? 62 : 72) + '%, ' + light + '%)');
    }
    return out;
  }

  // TIME_STEPS are the tick intervals of a time axis, in seconds: round
  // clock times, so that the charts of a dashboard tick together.
  var TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

  // timeStep is the tick interval, in seconds, of a time axis of n buckets
  // of bucket seconds: the smallest round step that is a whole number of
  // buckets and gives at most about maxTicks labels.
  function timeStep(bucket, n, maxTicks) {
    var want = (bucket * n) / (maxTicks || 7);
    for (var i = 0; i < TIME_STEPS.length; i++) {
      var st = TIME_STEPS[i];
      if (st >= want && st >= bucket && st % bucket === 0) return st;
    }
    // A bucket that divides no round step (7 s): whole buckets.
    return Math.max(1, Math.ceil(want / bucket)) * bucket;
  }

  // bucketOf is the bucket of time categories, in seconds (the smallest
  // gap between neighbours), or 0 when they are not times.
  function bucketOf(categories) {
    var best = 0;
    for (var i = 1; i < categories.length; i++) {
      var d = (Date.parse(categories[i]) - Date.parse(categories[i - 1])) / 1000;
      if (isFinite(d) && d > 0 && (best === 0 || d < best)) best = d;
    }
    return best;
  }

  // secondsOfDay reads "HH:MM:SS" (a timeLabel) as seconds since midnight
  // in the zone it was written in, or -1.
  function secondsOfDay(label) {
    var m = /^(\d\d):(\d\d):(\d\d)$/.exec(label);
    return m ? (+m[1]) * 3600 + (+m[2]) * 60 + (+m[3]) : -1;
  }

  // onTick says whether time category v falls on a tick of step seconds,
  // as a clock in the chart's zone (fmt) reads it: ticks at :00, :05, …
  // on every chart of the page alike.
  function onTick(v, step, fmt) {
    var sec = secondsOfDay(timeLabel(v, fmt));
    if (sec < 0) return false;
    return sec % step === 0;
  }

  // isPartial says whether the last bucket of frame is still filling: it
  // ends after the frame's time.
  function isPartial(frame, bucket) {
    var cats = (frame && frame.categories) || [];
    if (!bucket || cats.length === 0) return false;
    var start = Date.parse(cats[cats.length - 1]);
    var at = Date.parse(frame.time);
    return isFinite(start) && isFinite(at) && at < start + bucket * 1000;
  }

  // PARTIAL_OPACITY draws the still-filling bucket lighter than the others.
  var PARTIAL_OPACITY = 0.4;

  // bucketRange is "12:00:00 – 12:00:10" for a bucket starting at v.
  function bucketRange(v, bucket, fmt) {
    var start = Date.parse(v);
    if (!bucket || !isFinite(start)) return timeLabel(v, fmt);
    return timeLabel(v, fmt) + ' – ' + timeLabel(new Date(start + bucket * 1000).toISOString(), fmt);
  }

  // isEmptyFrame says whether frame has nothing to draw: no category, or
  // no value in any series.
  function isEmptyFrame(frame) {
    if (!frame || !frame.categories || frame.categories.length === 0) return true;
    return !(frame.series || []).some(function (s) {
      return (s.data || []).some(function (x) { return typeof x === 'number' && isFinite(x); });
    });
  }

  // MAX_TIP_ROWS is the most series rows a tooltip shows at once; more
  // scroll (the wheel over the chart moves chart.tipOffset).
  var MAX_TIP_ROWS = 12;
  // TIP_GAP parts a row's name from its value: an empty rich-text token of
  // a fixed width (tooltip.textStyle.rich.g), so that each is a text of
  // its own on the canvas. A user text never goes inside a token: a "}"
  // in it would end the token early.
  var TIP_GAP = '{g|}';

  // tipText is the tooltip of an axis (params: ECharts' formatter
  // argument) on chart, as ECharts rich text, every user text escaped:
  // the category (a time bucket as its range, "partial" while it fills),
  // one row per series (a single series named by the chart's title, not
  // its metric), up to MAX_TIP_ROWS from chart.tipOffset with a line that
  // says how many more, and the stack's total on a stacked chart.
  function tipText(params, chart) {
    var ps = (Array.isArray(params) ? params : [params]).filter(function (p) { return p && p.seriesId !== 't'; });
    if (ps.length === 0) return '';
    var frame = chart.frame || null;
    var head = ps[0].axisValue !== undefined ? ps[0].axisValue : ps[0].name;
    var lines = [];
    if (chart.x === 'time') {
      var bucket = frame ? bucketOf(frame.categories || []) : 0;
      var title = bucketRange(head, bucket, chart.timeFormat);
      var cats = (frame && frame.categories) || [];
      if (ps[0].dataIndex === cats.length - 1 && isPartial(frame, bucket)) title += ' (partial: still filling)';
      lines.push(escapeRich(title));
    } else {
      lines.push(escapeRich(head));
    }
    var single = ps.length === 1 && (!chart.metric || ps[0].seriesName === chart.metric);
    var rows = ps;
    if (!single && chart.type !== 'grouped') rows = ps.slice().reverse(); // the top of the stack first
    var offset = Math.max(0, Math.min(chart.tipOffset || 0, rows.length - MAX_TIP_ROWS));
    chart.tipOffset = offset;
    chart.tipRows = rows.length;
    if (offset > 0) lines.push('↑ ' + offset + ' more');
    // A percent chart's frame carries each category's total: the count
    // behind a share is the share of it, written in the chart's unit.
    var totals = chart.type === 'percent' && frame && Array.isArray(frame.totals) ? frame.totals : null;
    var catTotal = totals ? totals[ps[0].dataIndex] : null;
    var counted = typeof catTotal === 'number' && isFinite(catTotal);
    var countOf = function (share) {
      if (!counted || typeof share !== 'number' || !isFinite(share)) return '';
      return ' (' + tooltipValue(share / 100 * catTotal, { type: 'grouped', unit: chart.unit || '' }) + ')';
    };
    rows.slice(offset, offset + MAX_TIP_ROWS).forEach(function (p) {
      var name = single ? (chart.title || p.seriesName) : p.seriesName;
      var v = Array.isArray(p.value) ? p.value[p.value.length - 1] : (p.value && typeof p.value === 'object' ? p.value.value : p.value);
      // ECharts' marker ends in spaces, which would be part of the name's text.
      var marker = String(p.marker || '').replace(/\s+$/, '');
      lines.push(marker + (marker ? '{s|}' : '') + escapeRich(name) + TIP_GAP + tooltipValue(v, chart) + countOf(v));
    });
    var below = rows.length - offset - MAX_TIP_ROWS;
    if (below > 0) lines.push('↓ ' + below + ' more (scroll)');
    if (!single && chart.type === 'stacked') {
      var total = 0;
      var any = false;
      ps.forEach(function (p) {
        var v = p.value && typeof p.value === 'object' && !Array.isArray(p.value) ? p.value.value : p.value;
        if (typeof v === 'number' && isFinite(v)) { total += v; any = true; }
      });
      lines.push('Total' + TIP_GAP + (any ? tooltipValue(total, chart) : '–'));
    }
    if (!single && counted) lines.push('Total' + TIP_GAP + tooltipValue(catTotal, { type: 'grouped', unit: chart.unit || '' }));
    return lines.join('\n');
  }

  // readingAids adds to a decorated option what issue 19 asks of every
  // chart: the tooltip above, the ticks of a time axis (round steps, the
  // same on every chart; none at the first bar, beside the value axis'
  // "0"), and text scaled to chart.fontSize (kiosk) when set.
  function readingAids(option, chart) {
    var tipStyle = Object.assign({}, option.tooltip && option.tooltip.textStyle);
    tipStyle.rich = Object.assign({}, tipStyle.rich, { g: { width: 14 }, s: { width: 4 } });
    option.tooltip = Object.assign({}, option.tooltip, {
      formatter: function (params) { return tipText(params, chart); },
      textStyle: tipStyle,
    });
    if (chart.x === 'time') {
      option[categoryAxis(chart)] = asArray(option[categoryAxis(chart)]).map(function (a) {
        var o = Object.assign({}, a);
        var shown = function (index, value) {
          if (index === 0) return false;
          var cats = (chart.frame && chart.frame.categories) || [];
          var step = timeStep(bucketOf(cats) || 1, cats.length || 1, chart.fontSize ? 6 : 7);
          return onTick(value, step, chart.timeFormat || null);
        };
        o.axisLabel = Object.assign({}, o.axisLabel, { interval: shown, hideOverlap: true });
        o.axisTick = Object.assign({}, o.axisTick, { interval: shown, alignWithLabel: true });
        return o;
      });
    }
    if (chart.x !== 'time') {
      // Category names are user text: shown as they are, never as rich
      // text markup ("/api/{v|x}/items" would be cut into styled pieces).
      option[categoryAxis(chart)] = asArray(option[categoryAxis(chart)]).map(function (a) {
        if (a.axisLabel && a.axisLabel.formatter) return a; // the option's own
        return Object.assign({}, a, { axisLabel: Object.assign({}, a.axisLabel, { formatter: function (v) { return escapeRich(v); } }) });
      });
    }
    if (chart.fontSize) {
      var px = chart.fontSize;
      option.textStyle = Object.assign({}, option.textStyle, { fontSize: px });
      ['xAxis', 'yAxis'].forEach(function (k) {
        option[k] = asArray(option[k]).map(function (a) {
          return Object.assign({}, a, { axisLabel: Object.assign({}, a.axisLabel, { fontSize: px }) });
        });
      });
      option.tooltip.textStyle = Object.assign({}, option.tooltip.textStyle, { fontSize: px });
      option.legend = asArray(option.legend).map(function (l) {
        return Object.assign({}, l, { textStyle: Object.assign({}, l.textStyle, { fontSize: px }) });
      });
    }
    return option;
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
  //   charts      [{id, type, horizontal, x, unit, el, tz, title, metric,
  //               htmlLegend (the page draws the legend), fontSize (px of
  //               the chart's text, 0 for ECharts' own)}]
  //   theme       the ECharts theme name: "dark" or "default"
  //   onDraw      function (chart, frame, time): after a frame is drawn
  //   onError     function (chart, text): text "" clears it
  //   onLink      function (state, text, transport): connecting, live,
  //               reconnecting, stale, refused
  //   paintMode   "fresh" or "budget" (the default; see paintMode and draw)
  // It returns {charts (a Map by id; each chart's view draws it, see
  // dashdPaint.host), setTheme(name), redraw(), pause(), resume(),
  // paused(), setPaintMode(mode), paintMode()}.
  function live(cfg) {
    var paint = cfg.paint;
    var base = cfg.base || '';
    var token = cfg.token || '';
    var noop = function () {};
    var onDraw = cfg.onDraw || noop;
    var onError = cfg.onError || noop;
    var onLink = cfg.onLink || noop;
    var onDashboard = cfg.onDashboard || noop; // the dashboard's definition was announced
    var fresh = paintMode(cfg.paintMode) === 'fresh';
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
        title: d.title || '',
        metric: d.metric || '',
        htmlLegend: !!d.htmlLegend,
        fontSize: d.fontSize || 0,
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
        visible: true, // on screen (or near it), as IntersectionObserver says
        still: false, // its next draw catches up: no animation
        busySince: 0, // a frame is on its way to the painter since then (ms)
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
        startRounds();
        charts.forEach(draw);
        endRounds();
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

    // Off screen and hidden tabs (issue 17): a chart scrolled away, or every
    // chart of a hidden page, keeps only its newest frame in c.pending and
    // costs nothing (no message to the painter, no setOption, no paint);
    // when it is shown again it draws that frame at once, without
    // animation. A browser without IntersectionObserver draws them all.
    var pageHidden = document.visibilityState === 'hidden';
    function showing(c) {
      if (!c.pending) return;
      c.still = true;
      queueDraw();
    }
    document.addEventListener('visibilitychange', function () {
      var was = pageHidden;
      pageHidden = document.visibilityState === 'hidden';
      if (was && !pageHidden) charts.forEach(showing);
    });
    if (window.IntersectionObserver) {
      var io = new IntersectionObserver(function (entries) {
        entries.forEach(function (e) {
          var c = byEl.get(e.target);
          if (!c) return;
          var was = c.visible;
          c.visible = e.isIntersecting;
          if (!was && c.visible) showing(c);
        });
      }, { rootMargin: '64px 0px' });
      charts.forEach(function (c) { io.observe(c.el); });
    }

    // The paint budget (issue 17): a painter's cost per frame (what its
    // answers to draws say, see dashdPaint) times the frames asked of it
    // is the share of a core it spends. Over PAINT_BUDGET, the painter's
    // charts on the screen are drawn in rounds, at most one every gap ms,
    // gap = its charts on the screen × cost ÷ PAINT_BUDGET (at most
    // MAX_PAINT_GAP_MS), each with its newest frame: a wall of 24 charts
    // at 10 Hz on a slow machine draws each a few times a second instead
    // of eight, while a frame drawn is as fresh as before (it is the newest
    // when it goes). A round draws every chart due at once, so that the
    // compositor shows their new pictures in one frame rather than one
    // frame each. Under the budget, as at 2 Hz or on a fast machine, gap
    // is shorter than the time between frames and nothing waits. A
    // catch-up (still) or a chart's first frame never waits.
    //
    // paintMode "fresh" (fresh) chooses freshness over CPU: no rounds, each
    // visible chart's newest frame goes to its painter as soon as the
    // painter has answered the one before (still at most one on its way,
    // never for a chart off screen or in a hidden page), and a frame that
    // waited for that answer goes at the next animation frame rather than
    // with the next message. A wall then costs what drawing every frame of
    // its visible charts costs (docs/BENCHMARKS.md, "The wall: fresh or
    // frugal").
    var costs = new Map(); // painter (dashdPaint view.worker()) → ms a frame
    var shownBy = new Map(); // painter → charts on the screen it draws
    var nextRound = new Map(); // painter → when its next round may start (ms)
    var inRound = new Map(); // painter → drew in this pass (see startRounds)
    function painterOf(c) { return typeof c.view.worker === 'function' ? c.view.worker() : 0; }
    function startRounds() {
      shownBy.clear();
      inRound.clear();
      charts.forEach(function (c) {
        if (!c.ready || !c.visible) return;
        var k = painterOf(c);
        shownBy.set(k, (shownBy.get(k) || 0) + 1);
      });
    }
    function endRounds() {
      var now = performance.now();
      inRound.forEach(function (drew, k) {
        if (drew) nextRound.set(k, now + paintGap(k));
      });
    }
    function paintGap(k) {
      var ms = costs.get(k) || 0;
      return Math.min(MAX_PAINT_GAP_MS, (shownBy.get(k) || 1) * ms / PAINT_BUDGET);
    }

    function draw(c) {
      if (!c.ready || !c.pending) return;
      if (paused && c.shown) return;
      if (pageHidden || !c.visible) return;
      // Backpressure: one frame per chart on its way to the painter. A
      // painter slower than the stream (a wall on a small computer) gets
      // each chart's newest frame when it is free, and the delay from push
      // to pixel stays bounded (without it, 48 charts at 10 Hz queued up
      // 3 s of frames in one worker). A painter that never answers is not
      // waited for more than BUSY_MAX_MS.
      var now = performance.now();
      if (c.busySince && now - c.busySince < BUSY_MAX_MS) return;
      var k = painterOf(c);
      if (c.shown && !c.still && !fresh) {
        var wait = (nextRound.get(k) || 0) - now;
        if (wait > 0 && !inRound.get(k)) {
          wake(wait);
          return;
        }
        inRound.set(k, true);
      }
      var f = c.pending;
      c.pending = null;
      c.shown = f;
      c.busySince = now;
      c.view.draw(f, c.still, function (got) {
        c.busySince = 0;
        if (got && typeof got.ms === 'number' && got.ms > 0) costs.set(k, got.ms);
        if (c.pending) {
          if (fresh) queueDraw();
          else catchUp();
        }
      });
      c.still = false;
      var t = new Date(f.time);
      if (isNaN(t.getTime())) t = new Date();
      onDraw(c, f, t);
    }

    // catchUp draws the frames that waited for their painter with the
    // next message's draw, or CATCH_UP_MS from now if none comes: each
    // answer drawing at once would redraw the page (its "updated" times)
    // at every animation frame instead of once per message. wake(ms) draws
    // what waits in ms at the latest (one timer, the earliest asked).
    var wakeTimer = null;
    var wakeAt = 0;
    function wake(ms) {
      var at = performance.now() + ms;
      if (wakeTimer !== null && wakeAt <= at) return;
      clearTimeout(wakeTimer);
      wakeAt = at;
      wakeTimer = setTimeout(function () {
        wakeTimer = null;
        queueDraw();
      }, ms);
    }
    function catchUp() { wake(CATCH_UP_MS); }

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

    // Delta frames (dashd-delta.js, where loaded): asked for on the
    // WebSocket only; decode() hands back the frames they rebuild.
    var delta = typeof dashdDelta !== 'undefined' && dashdDelta ? new dashdDelta.Decoder() : null;

    function onMessage(text, ws) {
      var msg;
      heard();
      try {
        msg = delta && ws ? delta.decode(text) : JSON.parse(text);
      } catch (e) {
        // A delta that does not apply: reconnect for a whole snapshot.
        if (e && e.resync && ws && conn === ws) ws.close();
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
    // What was last heard of the server (a frame, a heartbeat, any
    // message, or the link opening), in ms since the epoch; the stale
    // badge counts its age.
    var lastHeard = null;
    var silenceTimer = null;
    var ageTimer = null;
    var silent = false;

    function setLink(state, text) { onLink(state, text, transport); }

    // showStale shows the badge stale with the age of what was last
    // heard, and keeps the age current.
    function showStale() {
      var since = lastHeard !== null ? lastHeard : (downSince ? downSince.getTime() : Date.now());
      setLink('stale', 'stale · ' + ageText(Date.now() - since));
      if (ageTimer === null) ageTimer = setInterval(showStale, 1000);
    }
    function stopStale() {
      clearInterval(ageTimer);
      ageTimer = null;
    }

    // heard notes that the server spoke: the link is live again if it was
    // silent, and the silence is counted from now.
    function heard() {
      lastHeard = Date.now();
      clearTimeout(silenceTimer);
      silenceTimer = setTimeout(onSilence, SILENT_AFTER_MS);
      if (silent) {
        silent = false;
        stopStale();
        setLink('live', 'live');
      }
    }

    function onSilence() {
      if (!conn) return;
      silent = true;
      showStale();
      silenceTimer = setTimeout(function () {
        // Still nothing: open the link again (see SILENT_RECONNECT_MS).
        var c = conn;
        if (!c || !silent) return;
        conn = null;
        c.close();
        dropped(false);
      }, SILENT_RECONNECT_MS - SILENT_AFTER_MS);
    }

    function opened() {
      var reconnect = everOpened;
      everOpened = true;
      wsFailures = 0;
      attempt = 0;
      downSince = null;
      clearTimeout(staleTimer);
      stopStale();
      silent = false;
      heard();
      charts.forEach(function (c) {
        c.resync = true;
        // After a break the definition may have changed too (a restart).
        if (reconnect || !c.ready) loadOption(c);
      });
      setLink('live', 'live');
    }

    function markDown() {
      clearTimeout(silenceTimer);
      if (downSince !== null) return;
      downSince = new Date();
      clearTimeout(staleTimer);
      if (silent) {
        // Stale already, and stays so with its age.
        silent = false;
        return;
      }
      staleTimer = setTimeout(showStale, STALE_AFTER_MS);
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
      clearTimeout(silenceTimer);
      stopStale();
      retryTimer = null;
      setLink('refused', reason || 'the server ended the stream');
    }

    function connect() {
      retryTimer = null;
      if (conn) return;
      if (transport === 'WebSocket') {
        var ws = new WebSocket(withToken(wsURL(loc, API + '/stream?' + query + (delta ? '&delta=1' : '')), token));
        if (delta) delta.reset(); // deltas refer to this connection's frames only
        var open = false;
        conn = ws;
        ws.onopen = function () { open = true; opened(); };
        ws.onmessage = function (e) { if (typeof e.data === 'string') onMessage(e.data, ws); };
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
      es.addEventListener('heartbeat', function () { if (conn === es) heard(); });
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
      // setPaintMode switches between "fresh" and "budget" (any other
      // value: "budget", see paintMode); paintMode() says which is on.
      setPaintMode: function (mode) {
        fresh = paintMode(mode) === 'fresh';
        queueDraw();
      },
      paintMode: function () { return fresh ? 'fresh' : 'budget'; },
    };
  }

  var exported = {
    acceptFrame: acceptFrame,
    paintMode: paintMode,
    framesOf: framesOf,
    announcementsOf: announcementsOf,
    frameOption: frameOption,
    applyFrame: applyFrame,
    animationBudget: animationBudget,
    backoffDelay: backoffDelay,
    axisValue: axisValue,
    tooltipValue: tooltipValue,
    timeFormat: timeFormat,
    timeLabel: timeLabel,
    clock: clock,
    ageText: ageText,
    escapeRich: escapeRich,
    palette: palette,
    timeStep: timeStep,
    bucketOf: bucketOf,
    onTick: onTick,
    isPartial: isPartial,
    bucketRange: bucketRange,
    isEmptyFrame: isEmptyFrame,
    tipText: tipText,
    MAX_TIP_ROWS: MAX_TIP_ROWS,
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
