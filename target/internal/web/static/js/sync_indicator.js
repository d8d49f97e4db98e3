/*
 * sync_indicator.js — DP.sync.set('idle'|'saving'|'saved'|'error') sets
 * <body data-sync-state> for the sync LED and fires dp:sync on document.
 */
(function () {
  'use strict';
  var state = 'idle';
  var DP = window.DP = window.DP || {};
  DP.sync = {
    set: function (s) {
      state = String(s);
      if (document.body) document.body.setAttribute('data-sync-state', state);
      document.dispatchEvent(new CustomEvent('dp:sync', { detail: { state: state } }));
      return state;
    },
    get: function () { return state; }
  };
})();
