/*
 * dashd-rewind.js: time travel on dashd's pages (issue 14). Needs dashdCore
 * (dashd-core.js); attached by dashd.js to the page's live client
 * (dashdCore.live), whose pause()/resume() hook it uses: while a past
 * moment is shown the live client is paused (the stream stays open, the
 * newest live frame of each chart waits), and the frames of the moment are
 * drawn through each chart's view; Live resumes and draws the newest.
 *
 * What it adds, above the charts:
 *   - a time slider over the log's retention (GET /api/v1/log): letting go
 *     shows that moment on every chart (GET …/frame?at=T, one computation
 *     per dashboard on the server), paused;
 *   - Replay at 1×, 2×, 5×, 10×, 30×, 60× from the moment shown: the stream
 *     with ?from=T&speed=S, whose frames move the charts as they moved;
 *     reaching the present turns into Live;
 *   - Live; the state in [data-pause-state]: "paused at 09:31:05",
 *     "replaying 10× · 09:31:05", "live";
 *   - links that pin a moment: ?at=T in the page's URL (RFC 3339 or a Unix
 *     number) opens paused at T, and the URL follows the moment shown, so
 *     it can be shared.
 * Every string from data reaches the page through textContent only.
 */
var dashdRewind = (function () {
  'use strict';

  var API = '/api/v1';
  var SPEEDS = [1, 2, 5, 10, 30, 60];
  var SCRUB_DELAY_MS = 150; // the slider shows a moment once it rests this long
  var BOUNDS_EVERY_MS = 5000; // the slider's end follows now

  // parseAt reads a moment as dashd does (?at=): RFC 3339, or a Unix number
  // in s, ms, µs or ns told apart by its size. null when it is neither.
  function parseAt(s) {
    s = String(s || '').trim();
    if (s === '') return null;
    if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(s)) {
      var x = Number(s);
      var a = Math.abs(x);
      var ms = a < 1e11 ? x * 1e3 : a < 1e14 ? x : a < 1e17 ? x / 1e3 : x / 1e6;
      var d = new Date(ms);
      return isNaN(d.getTime()) ? null : d;
    }
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(s)) return null;
    var t = new Date(s);
    return isNaN(t.getTime()) ? null : t;
  }

  // stateText is what [data-pause-state] says.
  function stateText(mode, at, speed, clock) {
    if (mode === 'live') return 'live';
    if (mode === 'replay') return 'replaying ' + speed + '× · ' + clock(at);
    return 'paused at ' + clock(at);
  }

  // attach adds rewind to lv (dashdCore.live). opts: {token, dashboard (""
  // for an embed), base, opener (the Rewind button: it then shows or hides
  // the bar)}.
  function attach(lv, opts) {
    var core = window.dashdCore;
    var doc = document;
    var token = opts.token || '';
    var base = opts.base || '';
    var query = core.streamQuery(opts.dashboard || '', Array.from(lv.charts.keys()));
    var mode = 'live';
    var at = null; // the moment shown, when not live
    var ask = 0; // the newest moment asked for; older answers are dropped
    var ws = null;

    // ---- the bar --------------------------------------------------------------
    var bar = doc.createElement('div');
    bar.className = 'rewind';
    bar.setAttribute('data-rewind', '');
    bar.setAttribute('role', 'group');
    bar.setAttribute('aria-label', 'Time travel');
    var slider = doc.createElement('input');
    slider.type = 'range';
    slider.step = '1';
    slider.setAttribute('data-rewind-slider', '');
    slider.setAttribute('aria-label', 'Moment to show (the log\u2019s retention)');
    var shown = doc.createElement('output');
    shown.setAttribute('data-rewind-at', '');
    var speed = doc.createElement('select');
    speed.setAttribute('data-rewind-speed', '');
    speed.setAttribute('aria-label', 'Replay speed');
    SPEEDS.forEach(function (s) {
      var o = doc.createElement('option');
      o.value = String(s);
      o.textContent = s + '×';
      speed.appendChild(o);
    });
    var replayButton = doc.createElement('button');
    replayButton.type = 'button';
    replayButton.className = 'ghost';
    replayButton.textContent = 'Replay';
    replayButton.setAttribute('data-rewind-replay', '');
    var liveButton = doc.createElement('button');
    liveButton.type = 'button';
    liveButton.className = 'ghost';
    liveButton.textContent = 'Live';
    liveButton.setAttribute('data-rewind-live', '');
    var problem = doc.createElement('span');
    problem.className = 'rewind-error';
    problem.setAttribute('role', 'alert');
    problem.setAttribute('data-rewind-error', '');
    [slider, shown, speed, replayButton, liveButton, problem].forEach(function (el) { bar.appendChild(el); });
    var header = doc.querySelector('header.bar');
    if (header && header.parentNode) header.parentNode.insertBefore(bar, header.nextSibling);
    else doc.body.insertBefore(bar, doc.body.firstChild);

    if (opts.opener) {
      opts.opener.setAttribute('aria-expanded', 'true');
      opts.opener.addEventListener('click', function () {
        bar.hidden = !bar.hidden || !canRewind;
        opts.opener.setAttribute('aria-expanded', String(!bar.hidden));
        if (!bar.hidden) slider.focus();
      });
    }

    var pauseState = doc.querySelector('[data-pause-state]');
    var pauseButton = doc.querySelector('[data-pause]');

    function show() {
      var text = stateText(mode, at, speed.value, core.clock);
      if (pauseState) {
        pauseState.textContent = text;
        // While rewind shows a moment, the state is rewind's to say
        // (dashd-a11y.js leaves it alone; it would name the live time).
        pauseState.toggleAttribute('data-rewind', mode !== 'live');
      }
      if (pauseButton) pauseButton.textContent = mode === 'live' ? 'Pause' : 'Go live';
      doc.body.classList.toggle('is-paused', mode !== 'live');
      bar.setAttribute('data-mode', mode);
      shown.textContent = mode === 'live' ? 'live' : at.toISOString().replace('.000Z', 'Z');
      if (mode !== 'live' && at) slider.value = String(Math.floor(at.getTime() / 1000));
      // The address pins the moment shown, so it can be shared.
      var u = new URL(window.location.href);
      if (mode === 'paused' && at) u.searchParams.set('at', at.toISOString());
      else u.searchParams.delete('at');
      if (u.href !== window.location.href) window.history.replaceState(null, '', u.href);
    }
    function fail(text) { problem.textContent = text; }

    // ---- drawing frames of the past ----------------------------------------------
    function drawFrame(c, f) {
      if (!c.rewound) {
        c.liveShown = c.shown; // drawn again on Live if nothing newer came
        c.rewound = true;
      }
      c.shown = f;
      drawWhenReady(c, f);
    }
    // A chart whose base option has not loaded yet (a pinned link, just
    // opened) draws the frame once it has, unless another came meanwhile.
    function drawWhenReady(c, f) {
      if (c.shown !== f || !c.rewound) return;
      if (c.ready) c.view.draw(f);
      else setTimeout(function () { drawWhenReady(c, f); }, 50);
    }

    // The requests of the moment shown last: a new moment, Live or a
    // replay aborts them at once, so that dashd stops computing a moment
    // nobody waits for (it cancels a rewind whose last asker has gone) and
    // a late answer is never drawn.
    var moment = null;
    function dropMoment() {
      if (!moment) return;
      moment.abort();
      moment = null;
    }

    function stopReplay() {
      if (!ws) return;
      var w = ws;
      ws = null;
      w.onclose = null;
      w.close(1000, 'done');
    }

    // leave puts the live frames back in line to be drawn; the caller
    // resumes (or the Pause/Live button does).
    function leave() {
      stopReplay();
      dropMoment();
      ask++;
      lv.charts.forEach(function (c) {
        if (!c.rewound) return;
        c.rewound = false;
        if (!c.pending) c.pending = c.liveShown || c.shown;
      });
      mode = 'live';
      at = null;
      fail('');
    }
    function goLive() {
      leave();
      lv.resume();
      show();
      refreshBounds();
    }

    // showMoment draws every chart as it was at t, paused.
    function showMoment(t) {
      stopReplay();
      dropMoment();
      var ctl = typeof AbortController === 'function' ? new AbortController() : null;
      moment = ctl;
      lv.pause();
      mode = 'paused';
      at = t;
      fail('');
      show();
      var mine = ++ask;
      var iso = t.toISOString();
      lv.charts.forEach(function load(c) {
        var url = core.withToken(base + API + '/charts/' + encodeURIComponent(c.id) + '/frame?at=' + encodeURIComponent(iso), token);
        if (mine !== ask) return;
        fetch(url, { headers: { Accept: 'application/json' }, credentials: base ? 'omit' : 'same-origin', signal: ctl ? ctl.signal : undefined }).then(function (res) {
          if (res.ok) return res.json();
          if (res.status === 429) {
            // dashd computes a few moments at a time: ask again when told.
            var wait = Math.min(Number(res.headers.get('Retry-After')) || 1, 10) * 1000;
            setTimeout(function () { if (mine === ask && mode !== 'live') load(c); }, wait);
            return null;
          }
          return res.text().then(function (body) { throw new Error(core.errorText(res.status, body)); });
        }).then(function (f) {
          if (!f || mine !== ask || mode === 'live') return;
          drawFrame(c, f);
        }).catch(function (err) {
          if (err && err.name === 'AbortError') return; // dropped: another moment, Live or a replay
          if (mine === ask) fail('the moment could not be shown (' + String(err && err.message ? err.message : err) + ')');
        });
      });
    }

    // replay streams the past from the moment shown at the chosen speed.
    function replay() {
      var from = at || new Date(Number(slider.value) * 1000);
      stopReplay();
      dropMoment();
      lv.pause();
      ask++;
      mode = 'replay';
      at = from;
      fail('');
      show();
      var url = core.withToken(core.wsURL(base ? new URL(base) : window.location,
        API + '/stream?' + query + '&from=' + encodeURIComponent(from.toISOString()) + '&speed=' + speed.value), token);
      var w = new WebSocket(url);
      ws = w;
      w.onmessage = function (e) {
        if (ws !== w || typeof e.data !== 'string') return;
        var msg;
        try { msg = JSON.parse(e.data); } catch (err) { return; }
        if (msg.type === 'live') { goLive(); return; }
        core.framesOf(msg).forEach(function (f) {
          var c = lv.charts.get(f.chart);
          if (c) drawFrame(c, f);
          var t = new Date(f.at);
          if (!isNaN(t.getTime())) at = t;
        });
        show();
      };
      w.onclose = function (e) {
        if (ws !== w) return;
        ws = null;
        if (e.code !== 1000) {
          mode = 'paused';
          show();
          fail('the replay ended (' + (e.reason || 'code ' + e.code) + ')');
        }
      };
    }

    // ---- the log's bounds --------------------------------------------------------
    var canRewind = true;
    function refreshBounds() {
      return fetch(core.withToken(base + API + '/log', token), { headers: { Accept: 'application/json' }, credentials: base ? 'omit' : 'same-origin' })
        .then(function (res) { return res.ok ? res.json() : null; })
        .then(function (b) {
          if (!b) return;
          canRewind = !!(b.rewind && b.first);
          if (!canRewind) {
            bar.hidden = true;
            if (opts.opener) opts.opener.hidden = true;
            return;
          }
          if (opts.opener) opts.opener.hidden = false;
          slider.min = String(Math.ceil(new Date(b.first).getTime() / 1000));
          slider.max = String(Math.floor(new Date(b.last).getTime() / 1000));
          if (mode === 'live') slider.value = slider.max;
        }, function () {});
    }
    setInterval(function () { if (mode === 'live') refreshBounds(); }, BOUNDS_EVERY_MS);

    // ---- controls ----------------------------------------------------------------
    var scrub = null;
    slider.addEventListener('input', function () {
      clearTimeout(scrub);
      var t = new Date(Number(slider.value) * 1000);
      scrub = setTimeout(function () { showMoment(t); }, SCRUB_DELAY_MS);
    });
    replayButton.addEventListener('click', replay);
    liveButton.addEventListener('click', goLive);
    speed.addEventListener('change', function () { if (mode === 'replay') replay(); });
    if (pauseButton) {
      // Pause/Live (dashd-a11y.js) resumes the live client itself; before
      // it does, the live frames are put back in line. Capture runs first.
      pauseButton.addEventListener('click', function () {
        if (mode !== 'live') leave();
        else if (!lv.paused()) {
          // Pausing live: the moment is now.
          at = new Date();
          mode = 'paused';
        }
        setTimeout(function () {
          if (!lv.paused()) mode = 'live';
          show();
        }, 0);
      }, true);
    }

    // Another control (the P key of dashd-a11y.js, say) may resume the live
    // client while a moment is shown: then the live frames come back.
    setInterval(function () {
      if (mode === 'live' || lv.paused()) return;
      leave();
      lv.redraw();
      show();
    }, 300);

    var pinned = parseAt(new URLSearchParams(window.location.search).get('at'));
    refreshBounds().then(function () {
      if (pinned) showMoment(pinned);
      else show();
    });
    if (new URLSearchParams(window.location.search).has('at') && !pinned) {
      fail('?at= is not a time (expected RFC 3339, e.g. 2026-12-03T09:31:05Z, or a Unix number)');
    }

    return {
      showMoment: showMoment,
      replay: replay,
      live: goLive,
      mode: function () { return mode; },
      at: function () { return at; },
    };
  }

  var exported = { attach: attach, parseAt: parseAt, stateText: stateText, SPEEDS: SPEEDS };
  if (typeof window === 'undefined' && typeof module === 'object' && module && module.exports) {
    module.exports = exported;
  }
  return exported;
})();
