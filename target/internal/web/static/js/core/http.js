/*
 * http.js — DP.core.http {jfetch, jfetchJson, getCSRF} (classic script), as
 * the deployed app loads it on the list-pekerjaan page.
 *
 * jfetch(url, init) is fetch with X-Requested-With: XMLHttpRequest,
 * Accept: application/json, same-origin credentials and, on every method but
 * GET/HEAD, X-CSRFToken from the csrftoken cookie; a plain-object body is
 * sent as JSON. It resolves with the Response. jfetchJson resolves with the
 * parsed JSON of a 2xx answer and rejects with an Error carrying status and
 * data otherwise.
 */
(function () {
  'use strict';
  function getCSRF() {
    var parts = document.cookie ? document.cookie.split(';') : [];
    for (var i = 0; i < parts.length; i++) {
      var kv = parts[i].trim().split('=');
      if (kv[0] === 'csrftoken') return decodeURIComponent(kv.slice(1).join('='));
    }
    return '';
  }
  function jfetch(url, init) {
    init = Object.assign({ credentials: 'same-origin' }, init || {});
    var method = String(init.method || 'GET').toUpperCase();
    var h = new Headers(init.headers || {});
    h.set('X-Requested-With', 'XMLHttpRequest');
    if (!h.has('Accept')) h.set('Accept', 'application/json');
    if (method !== 'GET' && method !== 'HEAD') {
      var tok = getCSRF();
      if (tok) h.set('X-CSRFToken', tok);
    }
    var b = init.body;
    if (b !== undefined && b !== null && typeof b === 'object' && !(b instanceof FormData) && !(b instanceof Blob) && !(b instanceof URLSearchParams)) {
      init.body = JSON.stringify(b);
      if (!h.has('Content-Type')) h.set('Content-Type', 'application/json');
    }
    init.method = method;
    init.headers = h;
    return fetch(url, init);
  }
  function jfetchJson(url, init) {
    return jfetch(url, init).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (_) { data = { raw: text }; }
        if (res.ok) return data;
        var err = new Error((data && (data.user_message || data.message)) || ('HTTP ' + res.status));
        err.status = res.status;
        err.data = data;
        throw err;
      });
    });
  }
  var DP = window.DP = window.DP || {};
  DP.core = DP.core || {};
  DP.core.http = { jfetch: jfetch, jfetchJson: jfetchJson, getCSRF: getCSRF };
})();
