/*
 * theme.js: runs before the page is drawn (loaded without defer), so that a
 * theme chosen with the toggle shows from the first paint. The page's own
 * ?theme= (rendered by the server as html[data-theme]) wins over it.
 *
 * It also runs the toggle of every page ([data-theme-toggle]: auto →
 * light → dark, kept in localStorage), the list of dashboards included,
 * and tells the page's charts with a "dashd:theme" event on document.
 */
(function () {
  'use strict';
  var KEY = 'dashd.theme';
  var root = document.documentElement;
  if (root.hasAttribute('data-theme')) {
    root.setAttribute('data-theme-fixed', '');
  } else {
    try {
      var t = window.localStorage.getItem(KEY);
      if (t === 'light' || t === 'dark') root.setAttribute('data-theme', t);
    } catch (e) {
      /* storage may be denied: follow the system */
    }
  }

  function show(toggle) {
    var t = root.getAttribute('data-theme') || 'auto';
    toggle.textContent = 'theme: ' + t;
    toggle.setAttribute('aria-label', 'Colour theme: ' + t + ' (change)');
  }

  function wire() {
    var toggle = document.querySelector('[data-theme-toggle]');
    if (!toggle) return;
    show(toggle);
    toggle.addEventListener('click', function () {
      var next = { auto: 'light', light: 'dark', dark: 'auto' }[root.getAttribute('data-theme') || 'auto'];
      if (next === 'auto') root.removeAttribute('data-theme');
      else root.setAttribute('data-theme', next);
      try {
        if (next === 'auto') localStorage.removeItem(KEY);
        else localStorage.setItem(KEY, next);
      } catch (e) { /* not kept: storage denied */ }
      show(toggle);
      document.dispatchEvent(new CustomEvent('dashd:theme', { detail: next }));
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', wire);
  else wire();
})();
