/*
 * source_change_state.js — remembers pekerjaan whose source type changed
 * (ref <-> custom) until their detail is reloaded: DP.sourceChange
 * {mark(id), clear(id), pending()}, kept in sessionStorage.
 */
(function () {
  'use strict';
  var KEY = 'dp-source-change';
  function load() { try { return JSON.parse(sessionStorage.getItem(KEY) || '[]'); } catch (_) { return []; } }
  function save(ids) { try { sessionStorage.setItem(KEY, JSON.stringify(ids)); } catch (_) { /* private mode */ } }
  var DP = window.DP = window.DP || {};
  DP.sourceChange = {
    mark: function (id) { var ids = load(); if (ids.indexOf(id) < 0) ids.push(id); save(ids); },
    clear: function (id) { save(load().filter(function (x) { return x !== id; })); },
    pending: load
  };
})();
