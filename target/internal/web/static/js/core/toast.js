/*
 * toast.js — notifications (classic script, no dependencies).
 *
 * API: window.DP.toast === window.DP.core.toast
 *   show({message, title, type, duration})   type: success|error|warning|info|loading
 *   show(message, type, duration)
 *   success/error/warning/info/loading(message, durationOrOptions)
 *   dismiss(toastOrId), clear(), setMax(n)
 * show() returns a handle {id, element, close()} or null when nothing is shown.
 * Legacy callers keep working: show(msg, 'danger', 3000) is an error toast
 * shown 3000 ms; show({message, variant, delay}) honours variant and delay.
 * duration 0 (and every loading toast) is sticky until closed.
 *
 * DOM: #dp-toast-area (role region, aria-live polite) holds
 * .dp-toast.dp-toast-{type} (role alert) with .dp-toast-title,
 * .dp-toast-message and button.dp-toast-close. .dp-toast-show is added on
 * the next frame; .dp-toast-hide is added HIDE_MS before removal. At most
 * `max` (3) toasts exist; the oldest is removed at once to make room.
 * Text is always set with textContent, never parsed as HTML.
 */
(function () {
  'use strict';

  // Switched-on UI defects, templated in by the server (see docs/frontend.md).
  var DEFECTS = /*@dp-defects*/{};

  var TYPES = ['success', 'error', 'warning', 'info', 'loading'];
  var DURATIONS = { info: 3000, success: 3000, warning: 4000, error: 5000, loading: 0 };
  var TITLES = { success: 'Berhasil', error: 'Gagal', warning: 'Peringatan', info: 'Informasi', loading: 'Memproses' };
  // Names older callers use (Bootstrap variants).
  var ALIASES = { danger: 'error', warn: 'warning', primary: 'info', secondary: 'info', light: 'info', dark: 'info' };
  var HIDE_MS = 300;

  var max = 3;
  var seq = 0;
  var live = []; // {id, element, timer} oldest first

  function area() {
    var el = document.getElementById('dp-toast-area');
    if (!el) {
      el = document.createElement('div');
      el.id = 'dp-toast-area';
      el.setAttribute('role', 'region');
      el.setAttribute('aria-live', 'polite');
      el.setAttribute('aria-label', 'Notifikasi');
      (document.body || document.documentElement).appendChild(el);
    }
    return el;
  }

  function setText(el, text) {
    if (DEFECTS['unescaped-ui']) {
      el.innerHTML = text;
    } else {
      el.textContent = text;
    }
  }

  function normType(t) {
    t = String(t || 'info').toLowerCase();
    if (ALIASES[t]) return ALIASES[t];
    return TYPES.indexOf(t) >= 0 ? t : 'info';
  }

  // normalize turns every accepted signature into one options object and
  // reports whether the call used a legacy form.
  function normalize(a, b, c) {
    if (a !== null && typeof a === 'object') {
      var legacy = a.variant !== undefined || a.delay !== undefined;
      var d = a.duration !== undefined ? a.duration : a.delay;
      return { legacy: legacy, message: a.message, title: a.title, type: a.type || a.variant, duration: d, dismissible: a.dismissible };
    }
    var opts = { legacy: false, message: a, type: b, duration: c };
    if (b !== null && typeof b === 'object') {
      // show(message, {type, title, duration})
      opts.type = b.type || b.variant;
      opts.title = b.title;
      opts.duration = b.duration !== undefined ? b.duration : b.delay;
      opts.legacy = b.variant !== undefined || b.delay !== undefined;
    } else if (typeof b === 'string' && ALIASES[b.toLowerCase()]) {
      opts.legacy = true;
    }
    return opts;
  }

  function show(a, b, c) {
    var o = normalize(a, b, c);
    if (o.legacy && DEFECTS['toast-legacy-ignored']) return null;
    var type = normType(o.type);
    var duration = Number(o.duration);
    if (o.duration === undefined || o.duration === null || isNaN(duration)) duration = DURATIONS[type];
    if (type === 'loading') duration = 0;
    var message = o.message === undefined || o.message === null ? '' : String(o.message);
    var title = o.title === undefined || o.title === null ? TITLES[type] : String(o.title);

    while (live.length >= max) remove(live[0]);

    var id = ++seq;
    var el = document.createElement('div');
    el.className = 'dp-toast dp-toast-' + type;
    el.setAttribute('role', 'alert');
    el.setAttribute('data-toast-id', String(id));
    el.setAttribute('data-toast-type', type);

    var body = document.createElement('div');
    body.className = 'dp-toast-body';
    var t = document.createElement('div');
    t.className = 'dp-toast-title';
    setText(t, title);
    var m = document.createElement('div');
    m.className = 'dp-toast-message';
    setText(m, message);
    body.appendChild(t);
    body.appendChild(m);
    el.appendChild(body);

    var entry = { id: id, element: el, timer: null, closing: false };
    if (o.dismissible !== false) {
      var close = document.createElement('button');
      close.type = 'button';
      close.className = 'dp-toast-close';
      close.setAttribute('aria-label', 'Tutup');
      close.textContent = '\u00d7';
      close.addEventListener('click', function () { dismiss(entry); });
      el.appendChild(close);
    }

    area().appendChild(el);
    live.push(entry);
    nextFrame(function () { if (!entry.closing) el.classList.add('dp-toast-show'); });
    if (duration > 0) entry.timer = setTimeout(function () { dismiss(entry); }, duration);
    return { id: id, element: el, close: function () { dismiss(entry); } };
  }

  // nextFrame runs fn on the next animation frame, or soon after when frames
  // are throttled (background tabs), so .dp-toast-show is never lost.
  function nextFrame(fn) {
    var done = false;
    function once() { if (!done) { done = true; fn(); } }
    if (window.requestAnimationFrame) window.requestAnimationFrame(once);
    setTimeout(once, 50);
  }

  function find(x) {
    if (x && typeof x === 'object' && 'timer' in x) return x;
    var id = x && typeof x === 'object' ? x.id : Number(x);
    for (var i = 0; i < live.length; i++) if (live[i].id === id) return live[i];
    return null;
  }

  // dismiss fades a toast out (.dp-toast-hide) and removes it HIDE_MS later.
  function dismiss(x) {
    var e = find(x);
    if (!e || e.closing) return;
    e.closing = true;
    clearTimeout(e.timer);
    e.element.classList.remove('dp-toast-show');
    e.element.classList.add('dp-toast-hide');
    setTimeout(function () { remove(e); }, HIDE_MS);
  }

  function remove(e) {
    clearTimeout(e.timer);
    var i = live.indexOf(e);
    if (i >= 0) live.splice(i, 1);
    if (e.element.parentNode) e.element.parentNode.removeChild(e.element);
  }

  function clear() {
    while (live.length) remove(live[0]);
  }

  function setMax(n) {
    n = Math.floor(Number(n));
    if (!(n >= 1)) return max;
    max = n;
    while (live.length > max) remove(live[0]);
    return max;
  }

  function shortcut(type) {
    return function (message, opt) {
      var o = opt !== null && typeof opt === 'object' ? opt : { duration: opt };
      return show({ message: message, title: o.title, type: type, duration: o.duration, dismissible: o.dismissible });
    };
  }

  var toast = {
    show: show,
    success: shortcut('success'),
    error: shortcut('error'),
    warning: shortcut('warning'),
    info: shortcut('info'),
    loading: shortcut('loading'),
    dismiss: dismiss,
    clear: clear,
    setMax: setMax,
    durations: Object.freeze(Object.assign({}, DURATIONS)),
    HIDE_MS: HIDE_MS
  };

  var DP = window.DP = window.DP || {};
  DP.core = DP.core || {};
  DP.toast = DP.core.toast = toast;
  document.dispatchEvent(new CustomEvent('dp:toast-ready'));
})();
