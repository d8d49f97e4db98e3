/*
 * ExportManager.js — downloads of the project's CSV exports (classic script).
 * window.ExportManager.download(url) follows the link in a hidden anchor so
 * the browser's download handling (Content-Disposition) applies; it reports
 * through DP.toast.export when toast.js is loaded.
 */
(function () {
  'use strict';
  function download(url) {
    var a = document.createElement('a');
    a.href = url;
    a.rel = 'noopener';
    a.hidden = true;
    (document.body || document.documentElement).appendChild(a);
    a.click();
    a.remove();
    return true;
  }
  function bind(root) {
    (root || document).addEventListener('click', function (ev) {
      var el = ev.target && ev.target.closest ? ev.target.closest('[data-export-url]') : null;
      if (!el) return;
      ev.preventDefault();
      download(el.getAttribute('data-export-url'));
      if (window.DP && window.DP.toast && window.DP.toast.export) window.DP.toast.export(el.getAttribute('data-export-format') || 'csv', true);
    });
  }
  window.ExportManager = { download: download, bind: bind };
  bind(document);
})();
