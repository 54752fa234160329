/*
 * dashd-paint.js: draws dashd's charts with Apache ECharts, off the page's
 * main thread where the browser can. Needs dashdCore (dashd-core.js) for
 * decorate and applyFrame; declares one name, dashdPaint (none inside
 * /embed.js, which wraps it in a function).
 *
 * Two sides speak in plain messages (structured-cloneable data):
 *
 *   the painter  owns the ECharts instances and draws what it is told:
 *                open, base (a chart's option), draw (a frame), loading,
 *                resize, theme, pointer, action, patch, close; it answers option
 *                and png. It runs in dashd's paint worker
 *                (/static/paint-worker.js, serve) or, where that cannot be,
 *                in the page.
 *   the host     (host) is the page's side: for each chart element it
 *                opens a view, whose methods send those messages.
 *
 * In the worker, each chart is a <canvas> inside its element whose control
 * was handed to the worker (an OffscreenCanvas): ECharts lays out and
 * paints there and the compositor shows each new picture, so an update
 * costs the page's main thread only the message that carries the frame.
 * Pointer events on the canvas are sent to the worker (tooltips, legend
 * clicks, hover), and the cursor ECharts asks for comes back.
 *
 * The page draws in the worker when the browser has OffscreenCanvas and
 * the worker script is on the page's origin (browsers start workers only
 * from there: a <dashd-chart> on another site draws in its page). The
 * painter is the same code either way.
 *
 * Concurrency: a page runs one host per live(), and the host a pool of
 * paint workers, one painter each (issue 17: a wall's drawing spreads over
 * the cores); every view belongs to one worker for its life. All are
 * single-threaded, and messages between the host and a worker keep their
 * order.
 */
var dashdPaint = (function () {
  'use strict';

  var core = dashdCore;
  function noop() {}

  // ---- the painter ------------------------------------------------------------

  // painter draws with echarts (the namespace) and says what it has to say
  // (answers, cursors) through post. It returns {handle(message)}.
  function painter(echarts, post) {
    var views = new Map(); // view number → chart state (see open)
    var budget = core.animationBudget(); // animations running, see applyFrame
    // cost is what drawing a frame takes this painter lately, in ms: the
    // time of applyFrame (ECharts' setOption, which lays out and paints the
    // canvas at once), a moving average over about the last 10 frames
    // drawn. 0 until one is.
    var cost = {
      ms: 0,
      add: function (ms) { cost.ms = cost.ms ? cost.ms + (ms - cost.ms) / 10 : ms; },
    };

    // start makes c's ECharts instance, and draws on it what c holds.
    function start(c) {
      var opts = { renderer: 'canvas' };
      if (c.canvas) {
        opts.width = c.width;
        opts.height = c.height;
        opts.devicePixelRatio = c.dpr;
      }
      c.ec = echarts.init(c.canvas || c.el, c.theme, opts);
      c.seriesKey = null;
      c.shapeKey = null;
      c.drawnAt = null;
      if (c.canvas) {
        // Outside a page ECharts has no element to set the cursor on: it
        // goes to the page's canvas.
        var cursor = 'default';
        c.ec.getZr().handler.proxy.setCursor = function (want) {
          want = want || 'default';
          if (want === cursor) return;
          cursor = want;
          post({ op: 'cursor', v: c.v, cursor: want });
        };
      }
      // A tooltip of more series than it shows scrolls with the wheel
      // (see dashdCore.tipText); it starts at the top each time it opens.
      var zr = c.ec.getZr();
      zr.on('mousewheel', function (e) {
        if (!c.tipRows || c.tipRows <= core.MAX_TIP_ROWS) return;
        c.tipOffset = (c.tipOffset || 0) + (e.wheelDelta < 0 ? 3 : -3);
        c.ec.dispatchAction({ type: 'showTip', x: e.offsetX, y: e.offsetY });
      });
      zr.on('globalout', function () {
        c.tipOffset = 0;
        c.tipRows = 0;
      });
      if (c.base) setBase(c);
      if (c.base && c.frame) core.applyFrame(c, c.frame, performance.now());
      if (c.loading) c.ec.showLoading({ text: '' });
    }

    function setBase(c) {
      var d = core.decorate(c.base, c);
      if (c.patch) Object.assign(d.option, c.patch);
      c.threshold = d.threshold;
      c.animation = d.option.animation !== false;
      c.ec.dispatchAction({ type: 'hideTip' }); // see dashdCore.applyFrame
      c.seriesKey = null;
      c.shapeKey = null; // the next frame is drawn whole, see applyFrame
      c.ec.setOption(d.option, { notMerge: true });
    }

    // pointerEvent is what ZRender's handler reads of a DOM event.
    function pointerEvent(m) {
      return {
        type: m.type, zrX: m.x, zrY: m.y, zrDelta: m.delta || 0, which: m.which || 1, button: m.button || 0,
        preventDefault: noop, stopPropagation: noop,
      };
    }

    var ops = {
      // open: {v, chart: {id, type, horizontal, x, unit, tz, title, metric,
      // htmlLegend, fontSize}, theme, and
      // either el (in the page) or canvas, width, height, dpr (in the
      // worker)}.
      open: function (m) {
        var d = m.chart || {};
        var c = {
          v: m.v, id: d.id, type: d.type || 'grouped', horizontal: !!d.horizontal, x: d.x || '', unit: d.unit || '',
          title: d.title || '', metric: d.metric || '', htmlLegend: !!d.htmlLegend, fontSize: d.fontSize || 0,
          tipOffset: 0, tipRows: 0, tipScrolls: false,
          timeFormat: core.timeFormat(d.tz), theme: m.theme || 'default',
          el: m.el || null, canvas: m.canvas || null, width: m.width, height: m.height, dpr: m.dpr || 1,
          ec: null, base: null, frame: null, loading: false, patch: null, decals: null,
          threshold: null, animation: true, seriesKey: null, shapeKey: null, dataKey: null, drawnAt: null,
        };
        views.set(m.v, c);
        start(c);
      },
      base: function (c, m) {
        c.base = m.option;
        setBase(c);
      },
      // draw: {frame, still}: still draws it without animation (a chart
      // shown again catches up at once). It answers {ms}: what a frame
      // costs this painter lately (see cost), for live()'s paint budget.
      draw: function (c, m) {
        c.frame = m.frame;
        if (!c.base) return { ms: cost.ms };
        var t0 = performance.now();
        var drawn = core.applyFrame(c, m.frame, t0, !!m.still, budget);
        if (drawn) cost.add(performance.now() - t0);
        return { ms: cost.ms };
      },
      loading: function (c, m) {
        c.loading = !!m.on;
        if (c.loading) c.ec.showLoading({ text: '' });
        else c.ec.hideLoading();
      },
      // resize: {width, height, dpr} in the worker; in the page ECharts
      // measures its element.
      resize: function (c, m) {
        if (!c.canvas) {
          c.ec.resize();
          return;
        }
        c.width = m.width;
        c.height = m.height;
        if (m.dpr && m.dpr !== c.dpr) {
          // The pixel ratio is fixed when an instance is made.
          c.dpr = m.dpr;
          c.ec.dispose();
          start(c);
          return;
        }
        c.ec.resize({ width: m.width, height: m.height });
      },
      theme: function (c, m) {
        c.theme = m.theme;
        c.ec.setTheme(m.theme);
      },
      // font: {px}: the size of the chart's text (kiosk follows the
      // screen's height), 0 for ECharts' own.
      font: function (c, m) {
        if (c.fontSize === m.px) return;
        c.fontSize = m.px;
        if (!c.base) return;
        setBase(c);
        if (c.frame) core.applyFrame(c, c.frame, performance.now());
      },
      pointer: function (c, m) {
        c.ec.getZr().handler.dispatch(m.type, pointerEvent(m));
        // Tell the page whether the wheel now scrolls a tooltip (then it
        // does not scroll the page too).
        var scrolls = c.tipRows > core.MAX_TIP_ROWS;
        if (scrolls !== c.tipScrolls) {
          c.tipScrolls = scrolls;
          post({ op: 'tipscroll', v: c.v, on: scrolls });
        }
      },
      action: function (c, m) {
        c.ec.dispatchAction(m.action);
      },
      // patch: {option, decals}: top-level keys laid over every base
      // option of the chart from now on and merged into what is drawn now
      // (the palette, animation), and the patterns of the series (decals,
      // see dashdCore.frameOption), as dashd-a11y.js chooses them.
      patch: function (c, m) {
        c.patch = m.option || null;
        c.decals = m.decals || null;
        c.shapeKey = null;
        if (c.patch) {
          c.animation = c.patch.animation !== false;
          c.ec.setOption(c.patch);
        }
        if (c.base && c.frame) core.applyFrame(c, c.frame, performance.now());
      },
      // option answers the option drawn now, as data (no formatters), or
      // null before the chart has one.
      option: function (c) {
        var o = c.ec.getOption();
        return o ? JSON.parse(JSON.stringify(o)) : null;
      },
      // texts answers the texts drawn on the canvas now (axis labels,
      // legend, tooltip), in drawing order, each as {text, x, y, width,
      // height}: its box in CSS pixels from the canvas's top left. What the
      // picture says, and where.
      texts: function (c) {
        var out = [];
        c.ec.getZr().storage.getDisplayList(true).forEach(function (el) {
          if (!el.style || typeof el.style.text !== 'string' || el.style.text === '') return;
          var r = el.getBoundingRect().clone();
          var m = el.getComputedTransform();
          if (m) r.applyTransform(m);
          out.push({ text: el.style.text, x: r.x, y: r.y, width: r.width, height: r.height });
        });
        return out;
      },
      // png answers the chart as a PNG: a data: URL in the page, a Blob in
      // the worker.
      png: function (c, m) {
        var opts = { type: 'png', pixelRatio: m.pixelRatio || 2, backgroundColor: m.backgroundColor };
        if (!c.canvas) return c.ec.getDataURL(opts);
        return c.ec.renderToCanvas(opts).convertToBlob({ type: 'image/png' });
      },
      close: function (c) {
        c.ec.dispose();
        views.delete(c.v);
      },
    };

    // handle runs one message; one with an ask number is answered with
    // {ask, value} or {ask, error}.
    function handle(m) {
      var result;
      try {
        var c = views.get(m.v);
        if (m.op !== 'open' && !c) throw new Error('no view ' + m.v);
        var op = ops[m.op];
        if (!op) throw new Error('unknown paint message ' + m.op);
        result = m.op === 'open' ? op(m) : op(c, m);
      } catch (e) {
        if (m.ask) post({ ask: m.ask, error: String(e && e.message ? e.message : e) });
        else if (typeof console !== 'undefined') console.error('dashd paint:', e);
        return;
      }
      if (!m.ask) return;
      Promise.resolve(result).then(function (value) {
        post({ ask: m.ask, value: value });
      }, function (e) {
        post({ ask: m.ask, error: String(e && e.message ? e.message : e) });
      });
    }

    return { handle: handle };
  }

  // serve runs the painter in a worker (scope is its global object). It
  // says {op: 'ready'}, or {op: 'unable', reason} where a worker here cannot
  // draw on a canvas (OffscreenCanvas without a 2D context), so that the
  // page draws instead.
  function serve(scope) {
    var probe = null;
    try {
      probe = new OffscreenCanvas(1, 1).getContext('2d');
    } catch (e) {
      probe = null;
    }
    if (!probe || !scope.echarts) {
      scope.postMessage({ op: 'unable', reason: probe ? 'ECharts did not load' : 'no 2D canvas in a worker' });
      return;
    }
    var echarts = scope.echarts;
    // ECharts makes canvases to measure text and to export a PNG.
    echarts.setPlatformAPI({ createCanvas: function () { return new OffscreenCanvas(1, 1); } });
    shareAnimationLoop(echarts, scope);
    var p = painter(echarts, function (m) { scope.postMessage(m); });
    scope.onmessage = function (e) { p.handle(e.data); };
    scope.postMessage({ op: 'ready' });
  }

  // shareAnimationLoop makes every chart of the worker run its animations
  // (ZRender's loop: update animations, hover, the flush of what changed)
  // from one loop on the worker's requestAnimationFrame. ZRender runs one
  // loop per chart, on requestAnimationFrame where there is a window and on
  // setTimeout(16) where there is none: in the paint worker a wall of 24
  // charts made about 1,500 timer tasks a second, each out of step with the
  // screen (issue 17). Only in the worker: a page's ECharts may be the
  // host page's own (<dashd-chart>), and there ZRender has the window's
  // requestAnimationFrame already. Where the worker has no
  // requestAnimationFrame, ZRender's own loops stay.
  function shareAnimationLoop(echarts, scope) {
    if (typeof scope.requestAnimationFrame !== 'function') return;
    var raf = scope.requestAnimationFrame.bind(scope);
    var probe = echarts.init(new OffscreenCanvas(1, 1), null, { width: 1, height: 1 });
    var proto = Object.getPrototypeOf(probe.getZr().animation);
    probe.dispose();
    if (typeof proto._startLoop !== 'function' || typeof proto.update !== 'function') return;
    var running = new Set(); // ZRender Animations started and not stopped
    var ticking = false;
    function tick() {
      ticking = false;
      running.forEach(function (a) {
        if (!a._running) running.delete(a); // stop() says so
        else if (!a._paused) a.update();
      });
      if (running.size) {
        ticking = true;
        raf(tick);
      }
    }
    // ZRender's Animation.start calls _startLoop; stop clears _running.
    proto._startLoop = function () {
      this._running = true;
      running.add(this);
      if (!ticking) {
        ticking = true;
        raf(tick);
      }
    };
  }

  // ---- the host ---------------------------------------------------------------

  // loadScript loads the classic script at url into the page once and
  // resolves to the global name it defines, putting back whatever the page
  // had under that name (a host page's own window.echarts).
  var loaded = new Map();
  function loadScript(url, name) {
    if (loaded.has(url)) return loaded.get(url);
    var p = new Promise(function (resolve, reject) {
      var had = Object.prototype.hasOwnProperty.call(window, name);
      var theirs = window[name];
      var s = document.createElement('script');
      s.src = url;
      s.async = true;
      s.onload = function () {
        var ours = window[name];
        if (had) window[name] = theirs;
        else delete window[name];
        s.remove();
        if (ours) resolve(ours);
        else reject(new Error(name + ' did not load from ' + url));
      };
      s.onerror = function () {
        s.remove();
        loaded.delete(url);
        reject(new Error(url + ' could not be fetched'));
      };
      (document.head || document.documentElement).appendChild(s);
    });
    loaded.set(url, p);
    return p;
  }

  // dataURL resolves to got as a data: URL: got is one (from the page's
  // painter) or a Blob (from the worker's). A data: URL, unlike a blob:
  // one, is allowed by dashd's Content-Security-Policy (img-src) and needs
  // no revoking.
  function dataURL(got) {
    if (typeof got === 'string') return got;
    return new Promise(function (resolve, reject) {
      var r = new FileReader();
      r.onload = function () { resolve(r.result); };
      r.onerror = function () { reject(r.error); };
      r.readAsDataURL(got);
    });
  }

  // poolSize is how many paint workers a host may start: cfg.workers, or
  // one per core the browser reports less one for the page (at least one,
  // at most MAX_WORKERS: each holds its own ECharts, about 10 MB).
  var MAX_WORKERS = 4;
  function poolSize(cfg) {
    var n = cfg.workers || ((typeof navigator !== 'undefined' && navigator.hardwareConcurrency) || 2) - 1;
    return Math.max(1, Math.min(MAX_WORKERS, n));
  }

  // canPaintInWorker says whether this browser can hand a canvas to a
  // worker.
  function canPaintInWorker() {
    return typeof Worker === 'function' && typeof OffscreenCanvas === 'function' &&
      typeof HTMLCanvasElement === 'function' && typeof HTMLCanvasElement.prototype.transferControlToOffscreen === 'function';
  }

  // startWorker starts a paint worker as cfg says (see host), or returns
  // null where it cannot. A worker that starts may still fail to load: its
  // error event says so.
  function startWorker(cfg) {
    if (!canPaintInWorker()) return null;
    try {
      if (cfg.worker && new URL(cfg.worker, document.baseURI).origin === location.origin) {
        return new Worker(cfg.worker, { name: 'dashd paint' });
      }
      if (cfg.workerImports && cfg.workerImports.length) {
        // Browsers start a worker only from the page's origin: a script
        // made here (a blob: URL, of this origin) imports dashd's.
        var src = 'importScripts(' + cfg.workerImports.map(function (u) { return JSON.stringify(u); }).join(', ') +
          ');\ndashdPaint.serve(self);\n';
        var url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
        var w = new Worker(url, { name: 'dashd paint' });
        setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
        return w;
      }
    } catch (e) {
      // A policy of the page (worker-src) or an old browser: draw in it.
    }
    return null;
  }

  // The pointer events a chart answers to, as ZRender names them.
  var POINTER_EVENTS = {
    pointermove: 'mousemove', pointerdown: 'mousedown', pointerup: 'mouseup', pointerleave: 'mouseout',
    click: 'click', dblclick: 'dblclick', contextmenu: 'contextmenu', wheel: 'mousewheel',
  };

  function errorText(e) { return String(e && e.message ? e.message : e); }

  // host returns the page's side, cfg:
  //   worker        the URL of the paint worker (paint-worker.js) on the
  //                 page's origin, or ""
  //   workerImports for a page of another origin (<dashd-chart>): the
  //                 absolute URLs of what paint-worker.js imports, to start
  //                 a worker from a script made in the page
  //   echarts       the ECharts namespace, when the page has it already
  //   echartsURL    where to load ECharts from, to draw in the page
  // It draws in a worker where the browser has OffscreenCanvas and the
  // worker loads, else in the page (a worker that fails to load, say
  // forbidden by the page's Content-Security-Policy, falls back to it).
  //   workers       how many paint workers it may start (default: see
  //                 poolSize)
  // It returns {inWorker, ready, open(el, chart, theme), workers() (how
  // many started), sent() (messages sent to each)}: ready is a
  // Promise that settles once the painter is chosen and can draw (inWorker
  // says which), or cannot start (its error says why). Views may be
  // opened and used before: what they send waits, in order. open returns
  // a view:
  //   base(option), draw(frame), loading(on), resize(), theme(name), font(px),
  //   draw(frame, still, done) (still: no animation; done: called once
  //   drawn, with the painter's answer {ms}: what a frame costs it lately,
  //   or with nothing when the draw failed), draws() (frames sent),
  //   action(a), patch(option, decals), option() → Promise of the option drawn, texts() →
  //   Promise of the texts on the canvas, png({pixelRatio,
  //   backgroundColor}) → Promise of a data: URL of the chart as a PNG,
  //   close().
  function host(cfg) {
    var asks = new Map();
    var nextAsk = 0;
    var nextView = 0;
    var views = new Map(); // view number → {el, chart, theme, canvas}
    var queue = []; // what was sent before the painter was chosen
    var deliver = null; // function (message, transfer): to the painter
    var started, failed;
    var ready = new Promise(function (resolve, reject) { started = resolve; failed = reject; });
    var h = { inWorker: false, ready: ready, open: open };

    function receive(m) {
      if (m.ask) {
        var a = asks.get(m.ask);
        asks.delete(m.ask);
        if (!a) return;
        if ('error' in m) a.reject(new Error(m.error));
        else a.resolve(m.value);
        return;
      }
      if (m.op === 'tipscroll') {
        var tv = views.get(m.v);
        if (tv) tv.tipScrolls = !!m.on;
        return;
      }
      if (m.op === 'cursor') {
        var view = views.get(m.v);
        if (view && view.canvas) view.canvas.style.cursor = m.cursor;
      }
    }

    function send(m) {
      if (deliver) deliver(m);
      else queue.push(m);
    }

    // openIn sends view v's open message to the painter chosen: in the
    // worker, with a canvas of the page's handed over.
    function openIn(v) {
      var view = views.get(v);
      if (!view) return;
      var m = { op: 'open', v: v, chart: view.chart, theme: view.theme };
      if (!h.inWorker) {
        m.el = view.el;
        deliver(m);
        return;
      }
      var canvas = document.createElement('canvas');
      canvas.style.cssText = 'display:block;width:100%;height:100%;touch-action:pan-y';
      view.el.replaceChildren(canvas);
      view.canvas = canvas;
      m.canvas = canvas.transferControlToOffscreen();
      m.width = view.el.clientWidth;
      m.height = view.el.clientHeight;
      m.dpr = window.devicePixelRatio || 1;
      deliver(m, [m.canvas]);
      Object.keys(POINTER_EVENTS).forEach(function (type) {
        // Passive: the page scrolls over a chart as over anything else,
        // but for the wheel over a tooltip that scrolls (tipscroll).
        canvas.addEventListener(type, function (e) {
          if (type === 'wheel' && view.tipScrolls) e.preventDefault();
          deliver({
            op: 'pointer', v: v, type: POINTER_EVENTS[type], x: e.offsetX, y: e.offsetY,
            delta: type === 'wheel' ? -e.deltaY / 120 : 0, which: e.which, button: e.button,
          });
        }, { passive: type !== 'wheel' });
      });
    }

    // choose makes to the painter's side, and sends what waited.
    function choose(inWorker, to) {
      h.inWorker = inWorker;
      deliver = to;
      var waiting = queue;
      queue = null;
      waiting.forEach(function (m) {
        if (m.op === 'open') openIn(m.v);
        else deliver(m);
      });
      started();
    }

    function inPage() {
      var loading = cfg.echarts ? Promise.resolve(cfg.echarts) : loadScript(cfg.echartsURL, 'echarts');
      loading.then(function (echarts) {
        var p = painter(echarts, receive);
        choose(false, p.handle);
      }, function (err) {
        var why = 'ECharts did not load: ' + errorText(err);
        choose(false, function (m) { if (m.ask) receive({ ask: m.ask, error: why }); });
        failed(new Error(why));
      });
    }

    // The pool (issue 17): up to poolSize(cfg) paint workers, so that a
    // wall's drawing spreads over the cores the browser has. Each view is
    // given to one worker when it is opened, in turn (evenly, and for good:
    // its canvas lives there), and every message about it goes there, so
    // each worker speaks the one-painter protocol unchanged. The first
    // worker decides between worker and page (see above); the others start
    // with the first view given to them, and one that cannot start hands
    // what waited for it to the first.
    var size = poolSize(cfg);
    var pool = []; // index → {worker, queue (until it is ready), sent} or {alias: 0}
    var slots = new Map(); // view number → pool index
    var given = 0;
    h.workers = function () { return pool.filter(function (p) { return p.worker; }).length; };
    h.sent = function () { return pool.map(function (p) { return p.worker ? p.sent : 0; }); };

    function member(k) {
      if (!pool[k]) spawn(k);
      return pool[k].worker ? pool[k] : pool[0];
    }
    function post(p, m, transfer) {
      if (p.queue) {
        p.queue.push([m, transfer]);
        return;
      }
      p.sent++;
      p.worker.postMessage(m, transfer || []);
    }
    function toPool(m, transfer) {
      var k = slots.has(m.v) ? slots.get(m.v) : 0;
      post(member(k), m, transfer);
    }
    function fail(k) {
      var q = pool[k].queue || [];
      pool[k].worker.terminate();
      pool[k] = { alias: 0 };
      q.forEach(function (x) { post(pool[0], x[0], x[1]); });
    }
    function spawn(k) {
      var w = startWorker(cfg);
      if (!w) {
        pool[k] = { alias: 0 };
        return;
      }
      var p = { worker: w, queue: [], sent: 0 };
      pool[k] = p;
      w.onmessage = function (e) {
        if (e.data && e.data.op === 'ready' && p.queue) {
          var q = p.queue;
          p.queue = null;
          q.forEach(function (x) { post(p, x[0], x[1]); });
          return;
        }
        if (e.data && e.data.op === 'unable' && p.queue) {
          fail(k);
          return;
        }
        receive(e.data);
      };
      w.onerror = function (e) {
        if (p.queue) fail(k);
        else if (typeof console !== 'undefined') console.error('dashd paint worker:', e.message);
      };
    }
    h.slot = function (v) { return slots.get(v); };
    h.assign = function (v) {
      slots.set(v, given++ % size);
    };

    var worker = startWorker(cfg);
    if (worker) {
      pool[0] = { worker: worker, queue: null, sent: 0 };
      worker.onmessage = function (e) {
        if (e.data && e.data.op === 'ready' && !deliver) {
          choose(true, toPool);
          return;
        }
        if (e.data && e.data.op === 'unable' && !deliver) {
          worker.terminate();
          pool = [];
          inPage();
          return;
        }
        receive(e.data);
      };
      worker.onerror = function (e) {
        if (deliver) {
          if (typeof console !== 'undefined') console.error('dashd paint worker:', e.message);
          return;
        }
        // It did not load: nothing was handed to it yet.
        worker.terminate();
        pool = [];
        inPage();
      };
    } else {
      inPage();
    }

    function ask(m) {
      return new Promise(function (resolve, reject) {
        m.ask = ++nextAsk;
        asks.set(m.ask, { resolve: resolve, reject: reject });
        send(m);
      });
    }

    function open(el, chart, theme) {
      var v = ++nextView;
      var draws = 0;
      h.assign(v);
      views.set(v, {
        el: el, theme: theme, canvas: null,
        chart: {
          id: chart.id, type: chart.type, horizontal: chart.horizontal, x: chart.x, unit: chart.unit, tz: chart.tz || '',
          title: chart.title || '', metric: chart.metric || '', htmlLegend: !!chart.htmlLegend, fontSize: chart.fontSize || 0,
        },
      });
      if (deliver) openIn(v);
      else queue.push({ op: 'open', v: v });
      return {
        base: function (option) { send({ op: 'base', v: v, option: option }); },
        // draw sends a frame; with done, the painter answers once it has
        // drawn it and done is called then (or when it failed), which is
        // how live() keeps at most one frame per chart on its way.
        draw: function (frame, still, done) {
          var m = { op: 'draw', v: v, frame: frame };
          if (still) m.still = true;
          draws++;
          if (done) ask(m).then(function (got) { done(got); }, function () { done(); });
          else send(m);
        },
        // draws counts the frames sent to the painter (for tests).
        draws: function () { return draws; },
        // worker is the index in the pool of the worker that draws it, -1
        // in the page (for tests).
        worker: function () {
          if (!h.inWorker) return -1;
          var k = h.slot(v);
          return pool[k] && pool[k].worker ? k : 0;
        },
        loading: function (on) { send({ op: 'loading', v: v, on: on }); },
        resize: function () {
          send({ op: 'resize', v: v, width: el.clientWidth, height: el.clientHeight, dpr: window.devicePixelRatio || 1 });
        },
        theme: function (name) { send({ op: 'theme', v: v, theme: name }); },
        font: function (px) { send({ op: 'font', v: v, px: px }); },
        action: function (a) { send({ op: 'action', v: v, action: a }); },
        patch: function (option, decals) { send({ op: 'patch', v: v, option: option, decals: decals }); },
        option: function () { return ask({ op: 'option', v: v }); },
        texts: function () { return ask({ op: 'texts', v: v }); },
        png: function (opts) {
          return ask({ op: 'png', v: v, pixelRatio: opts && opts.pixelRatio, backgroundColor: opts && opts.backgroundColor })
            .then(dataURL);
        },
        close: function () {
          send({ op: 'close', v: v });
          views.delete(v);
        },
      };
    }

    return h;
  }

  return { serve: serve, host: host, loadScript: loadScript };
})();
