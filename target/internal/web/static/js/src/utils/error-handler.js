/*
 * error-handler.js — window.ErrorHandler (classic script). On every page it
 * inserts a hidden recovery overlay, #errorRecoveryOverlay with #btnErrorWait
 * (hide it and keep working) and #btnErrorReload (reload the page), and shows
 * it for unhandled errors that the server marks recoverable.
 */
(function () {
  'use strict';
  var overlay = null;
  function build() {
    if (overlay || !document.body) return overlay;
    overlay = document.createElement('div');
    overlay.id = 'errorRecoveryOverlay';
    overlay.className = 'error-recovery-overlay';
    overlay.hidden = true;
    overlay.setAttribute('role', 'alertdialog');
    var msg = document.createElement('p');
    msg.className = 'error-recovery-message';
    var wait = document.createElement('button');
    wait.type = 'button';
    wait.id = 'btnErrorWait';
    wait.className = 'btn btn-outline-secondary';
    wait.textContent = 'Tunggu';
    wait.addEventListener('click', hide);
    var reload = document.createElement('button');
    reload.type = 'button';
    reload.id = 'btnErrorReload';
    reload.className = 'btn btn-primary';
    reload.textContent = 'Muat Ulang';
    reload.addEventListener('click', function () { location.reload(); });
    overlay.append(msg, wait, reload);
    document.body.appendChild(overlay);
    return overlay;
  }
  function show(message) {
    var o = build();
    if (!o) return;
    o.querySelector('.error-recovery-message').textContent = String(message || 'Terjadi kesalahan.');
    o.hidden = false;
  }
  function hide() { if (overlay) overlay.hidden = true; }
  // handle reads the app's error envelope {success:false, error:{message, recoverable}}.
  function handle(data) {
    var e = data && data.error;
    if (e && typeof e === 'object' && e.recoverable) show(e.message);
    return !!(e && e.recoverable);
  }
  if (document.body) build(); else document.addEventListener('DOMContentLoaded', build);
  window.ErrorHandler = { show: show, hide: hide, handle: handle };
})();
