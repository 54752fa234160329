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
 *                resize, theme, pointer, action, close; it answers option
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
 * Concurrency: a page runs one host per live() and the worker one painter;
 * both are single-threaded, and messages between them keep their order.
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
      if (c.base) setBase(c);
      if (c.base && c.frame) core.applyFrame(c, c.frame, performance.now());
      if (c.loading) c.ec.showLoading({ text: '' });
    }

    function setBase(c) {
      var d = core.decorate(c.base, c);
      c.threshold = d.threshold;
      c.animation = d.option.animation !== false;
      c.ec.dispatchAction({ type: 'hideTip' }); // see dashdCore.applyFrame
      c.seriesKey = null;
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
      // open: {v, chart: {id, type, horizontal, x, unit, tz}, theme, and
      // either el (in the page) or canvas, width, height, dpr (in the
      // worker)}.
      open: function (m) {
        var d = m.chart || {};
        var c = {
          v: m.v, id: d.id, type: d.type || 'grouped', horizontal: !!d.horizontal, x: d.x || '', unit: d.unit || '',
          timeFormat: core.timeFormat(d.tz), theme: m.theme || 'default',
          el: m.el || null, canvas: m.canvas || null, width: m.width, height: m.height, dpr: m.dpr || 1,
          ec: null, base: null, frame: null, loading: false,
          threshold: null, animation: true, seriesKey: null, drawnAt: null,
        };
        views.set(m.v, c);
        start(c);
      },
      base: function (c, m) {
        c.base = m.option;
        setBase(c);
      },
      draw: function (c, m) {
        c.frame = m.frame;
        if (c.base) core.applyFrame(c, m.frame, performance.now());
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
      pointer: function (c, m) {
        c.ec.getZr().handler.dispatch(m.type, pointerEvent(m));
      },
      action: function (c, m) {
        c.ec.dispatchAction(m.action);
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

  // serve runs the painter in a worker (scope is its global object).
  function serve(scope) {
    var echarts = scope.echarts;
    // ECharts makes canvases to measure text and to export a PNG.
    echarts.setPlatformAPI({ createCanvas: function () { return new OffscreenCanvas(1, 1); } });
    var p = painter(echarts, function (m) { scope.postMessage(m); });
    scope.onmessage = function (e) { p.handle(e.data); };
    scope.postMessage({ op: 'ready' });
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

  // canPaintInWorker says whether this browser can hand a canvas to a
  // worker.
  function canPaintInWorker() {
    return typeof Worker === 'function' && typeof OffscreenCanvas === 'function' &&
      typeof HTMLCanvasElement === 'function' && typeof HTMLCanvasElement.prototype.transferControlToOffscreen === 'function';
  }

  // startWorker starts the paint worker at url, or returns null where the
  // browser will not (no OffscreenCanvas, another origin, a policy).
  function startWorker(url) {
    if (!url || !canPaintInWorker()) return null;
    try {
      var u = new URL(url, document.baseURI);
      if (u.origin !== location.origin) return null;
      return new Worker(u.href, { name: 'dashd paint' });
    } catch (e) {
      return null;
    }
  }

  // The pointer events a chart answers to, as ZRender names them.
  var POINTER_EVENTS = {
    pointermove: 'mousemove', pointerdown: 'mousedown', pointerup: 'mouseup', pointerleave: 'mouseout',
    click: 'click', dblclick: 'dblclick', contextmenu: 'contextmenu', wheel: 'mousewheel',
  };

  // host returns the page's side, cfg:
  //   worker    the URL of the paint worker (paint-worker.js), or ""
  //   echarts   the ECharts namespace, when the page has it already
  //   echartsURL where to load ECharts from, when it must paint in the page
  //             and has no echarts
  // It returns {inWorker, ready, open(el, chart, theme)}: ready is a
  // Promise that settles when the painter can draw or cannot start (its
  // error says why); views may be opened and used before. open returns a
  // view:
  //   base(option), draw(frame), loading(on), resize(), theme(name),
  //   action(a), option() → Promise of the option drawn, texts() →
  //   Promise of the texts on the canvas, png({pixelRatio,
  //   backgroundColor}) → Promise of a data: URL of the chart as a PNG,
  //   close().
  function host(cfg) {
    var worker = startWorker(cfg.worker);
    var asks = new Map();
    var nextAsk = 0;
    var nextView = 0;
    var canvases = new Map(); // view number → its canvas (worker only)

    var started, failed;
    var ready = new Promise(function (resolve, reject) { started = resolve; failed = reject; });

    function receive(m) {
      if (m.op === 'ready') {
        started();
        return;
      }
      if (m.ask) {
        var a = asks.get(m.ask);
        asks.delete(m.ask);
        if (!a) return;
        if ('error' in m) a.reject(new Error(m.error));
        else a.resolve(m.value);
        return;
      }
      if (m.op === 'cursor') {
        var canvas = canvases.get(m.v);
        if (canvas) canvas.style.cursor = m.cursor;
      }
    }

    // send delivers a message to the painter; messages sent before an
    // in-page painter has its ECharts wait, in order.
    var send;
    if (worker) {
      worker.onmessage = function (e) { receive(e.data); };
      worker.onerror = function (e) {
        failed(new Error('the paint worker failed: ' + (e.message || 'it did not load')));
      };
      send = function (m, transfer) { worker.postMessage(m, transfer || []); };
    } else {
      var p = null;
      var waiting = [];
      var broken = null;
      send = function (m) {
        if (p) p.handle(m);
        else if (broken) { if (m.ask) receive({ ask: m.ask, error: broken }); }
        else waiting.push(m);
      };
      var echartsReady = cfg.echarts ? Promise.resolve(cfg.echarts) : loadScript(cfg.echartsURL, 'echarts');
      echartsReady.then(function (echarts) {
        p = painter(echarts, receive);
        waiting.forEach(p.handle);
        waiting = null;
        started();
      }, function (err) {
        broken = 'ECharts did not load: ' + String(err && err.message ? err.message : err);
        waiting.forEach(function (m) { if (m.ask) receive({ ask: m.ask, error: broken }); });
        waiting = null;
        failed(new Error(broken));
      });
    }

    function ask(m) {
      return new Promise(function (resolve, reject) {
        m.ask = ++nextAsk;
        asks.set(m.ask, { resolve: resolve, reject: reject });
        send(m);
      });
    }

    function dpr() { return window.devicePixelRatio || 1; }

    function open(el, chart, theme) {
      var v = ++nextView;
      var meta = { id: chart.id, type: chart.type, horizontal: chart.horizontal, x: chart.x, unit: chart.unit, tz: chart.tz || '' };
      var canvas = null;
      if (worker) {
        canvas = document.createElement('canvas');
        canvas.style.cssText = 'display:block;width:100%;height:100%;touch-action:pan-y';
        el.replaceChildren(canvas);
        canvases.set(v, canvas);
        var off = canvas.transferControlToOffscreen();
        send({ op: 'open', v: v, chart: meta, theme: theme, canvas: off, width: el.clientWidth, height: el.clientHeight, dpr: dpr() }, [off]);
        Object.keys(POINTER_EVENTS).forEach(function (type) {
          // Passive: the page scrolls over a chart as over anything else.
          canvas.addEventListener(type, function (e) {
            send({
              op: 'pointer', v: v, type: POINTER_EVENTS[type], x: e.offsetX, y: e.offsetY,
              delta: type === 'wheel' ? -e.deltaY / 120 : 0, which: e.which, button: e.button,
            });
          }, { passive: true });
        });
      } else {
        send({ op: 'open', v: v, chart: meta, theme: theme, el: el });
      }
      return {
        base: function (option) { send({ op: 'base', v: v, option: option }); },
        draw: function (frame) { send({ op: 'draw', v: v, frame: frame }); },
        loading: function (on) { send({ op: 'loading', v: v, on: on }); },
        resize: function () { send({ op: 'resize', v: v, width: el.clientWidth, height: el.clientHeight, dpr: dpr() }); },
        theme: function (name) { send({ op: 'theme', v: v, theme: name }); },
        action: function (a) { send({ op: 'action', v: v, action: a }); },
        option: function () { return ask({ op: 'option', v: v }); },
        texts: function () { return ask({ op: 'texts', v: v }); },
        png: function (opts) {
          return ask({ op: 'png', v: v, pixelRatio: opts && opts.pixelRatio, backgroundColor: opts && opts.backgroundColor })
            .then(dataURL);
        },
        close: function () {
          send({ op: 'close', v: v });
          canvases.delete(v);
        },
      };
    }

    return { inWorker: !!worker, ready: ready, open: open };
  }

  return { painter: painter, serve: serve, host: host, loadScript: loadScript };
})();
