/*
 * theme.js: runs before the page is drawn (loaded without defer), so that a
 * theme chosen with the toggle shows from the first paint. The page's own
 * ?theme= (rendered by the server as html[data-theme]) wins over it.
 */
(function () {
  'use strict';
  var root = document.documentElement;
  if (root.hasAttribute('data-theme')) {
    root.setAttribute('data-theme-fixed', '');
    return;
  }
  try {
    var t = window.localStorage.getItem('dashd.theme');
    if (t === 'light' || t === 'dark') root.setAttribute('data-theme', t);
  } catch (e) {
    /* storage may be denied: follow the system */
  }
})();
