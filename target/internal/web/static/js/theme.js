/*
 * theme.js — light/dark theme on <html data-bs-theme> (classic script),
 * remembered in localStorage under dp-theme.
 */
(function () {
  'use strict';
  var KEY = 'dp-theme';
  function get() { try { return localStorage.getItem(KEY) || 'light'; } catch (_) { return 'light'; } }
  function set(t) {
    t = t === 'dark' ? 'dark' : 'light';
    document.documentElement.setAttribute('data-bs-theme', t);
    try { localStorage.setItem(KEY, t); } catch (_) { /* private mode */ }
    return t;
  }
  document.documentElement.setAttribute('data-bs-theme', get());
  var DP = window.DP = window.DP || {};
  DP.theme = { get: get, set: set, toggle: function () { return set(get() === 'dark' ? 'light' : 'dark'); } };
})();
