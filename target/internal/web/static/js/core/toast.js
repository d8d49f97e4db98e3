/*
 * toast.js — notifications (classic script, no dependencies), in the
 * deployed app's dialect (REAL-APP.md section 5).
 *
 * Globals: window.DP.toast {show, clear, dismiss, success, error, warning,
 * info, loading, crud, export, network, config} and window.DP.core.toast
 * {show, clear, setMax}: two objects sharing show(); window.showToast = show.
 *   show({message, title, type, duration}) | show(message, type, duration)
 *   show() without a duration: 3000 ms; success/info 3000, warning 4000,
 *   error 5000 (the typed methods); loading and duration 0 are sticky.
 * Legacy callers: show(msg, 'danger', 3000) is an error toast shown 3000 ms;
 * show({message, variant, delay}) honours variant and delay.
 * show() returns a handle {id, element, close()} or null when nothing is shown.
 *
 * DOM: #dp-toast-area.dp-toast-area.dp-toast-top-right (role region,
 * aria-live polite, aria-label Notifications, z-index 13100) is appended to
 * <body> on the first toast. It holds .dp-toast.dp-toast-{type} (role alert):
 * .dp-toast-icon > i.bi, .dp-toast-content (optional .dp-toast-title,
 * .dp-toast-message), button.dp-toast-close (not on loading toasts).
 * .dp-toast-show is added on the next frame; closing adds .dp-toast-hide and
 * removes the node HIDE_MS later. The cap runs before the append: at `max`
 * (3) open toasts the oldest starts closing, so 4 nodes can exist while it
 * fades but never more than 3 are visible. Text is set with textContent.
 */
(function () {
  'use strict';

  // Switched-on UI defects, templated in by the server (see docs/frontend.md).
  var DEFECTS = /*@dp-defects*/{};

  var TYPES = ['success', 'error', 'warning', 'info', 'loading'];
  var DURATIONS = { info: 3000, success: 3000, warning: 4000, error: 5000, loading: 0 };
  var SHOW_DURATION = 3000; // show() without a duration, whatever the type
  var ICONS = { success: 'bi-check-circle-fill', error: 'bi-x-circle-fill', warning: 'bi-exclamation-triangle-fill', info: 'bi-info-circle-fill', loading: 'bi-hourglass-split' };
  // Names older callers use (Bootstrap variants).
  var ALIASES = { danger: 'error', warn: 'warning', primary: 'info', secondary: 'info', light: 'info', dark: 'info' };
  var HIDE_MS = 300;
  var RAW = !!DEFECTS['toast-legacy-raw']; // as deployed: no aliases, variant/delay ignored

  var max = 3;
  var seq = 0;
  var live = []; // {id, element, timer, closing} oldest first

  function area() {
    var el = document.getElementById('dp-toast-area');
    if (!el) {
      el = document.createElement('div');
      el.id = 'dp-toast-area';
      el.className = 'dp-toast-area dp-toast-top-right';
      el.style.zIndex = '13100';
      el.setAttribute('role', 'region');
      el.setAttribute('aria-live', 'polite');
      el.setAttribute('aria-label', 'Notifications');
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
    if (RAW) return t.replace(/[^a-z0-9_-]/g, '') || 'info';
    if (ALIASES[t]) return ALIASES[t];
    return TYPES.indexOf(t) >= 0 ? t : 'info';
  }

  // normalize turns every accepted signature into one options object and
  // reports whether the call used a legacy form.
  function normalize(a, b, c) {
    if (a !== null && typeof a === 'object') {
      var legacy = a.variant !== undefined || a.delay !== undefined;
      if (RAW) return { legacy: false, message: a.message, title: a.title, type: a.type, duration: a.duration };
      var d = a.duration !== undefined ? a.duration : a.delay;
      return { legacy: legacy, message: a.message, title: a.title, type: a.type || a.variant, duration: d, dismissible: a.dismissible };
    }
    var opts = { legacy: false, message: a, type: b, duration: c };
    if (b !== null && typeof b === 'object') {
      // show(message, {type, title, duration})
      opts.type = b.type || (RAW ? undefined : b.variant);
      opts.title = b.title;
      opts.duration = b.duration !== undefined || RAW ? b.duration : b.delay;
      opts.legacy = !RAW && (b.variant !== undefined || b.delay !== undefined);
    } else if (!RAW && typeof b === 'string' && ALIASES[b.toLowerCase()]) {
      opts.legacy = true;
    }
    return opts;
  }

  function open() {
    var n = 0;
    for (var i = 0; i < live.length; i++) if (!live[i].closing) n++;
    return n;
  }

  function oldestOpen() {
    for (var i = 0; i < live.length; i++) if (!live[i].closing) return live[i];
    return null;
  }

  function render(o, fallbackDuration) {
    if (o.legacy && DEFECTS['toast-legacy-ignored']) return null;
    var type = normType(o.type);
    var duration = Number(o.duration);
    if (o.duration === undefined || o.duration === null || isNaN(duration)) duration = fallbackDuration(type);
    if (type === 'loading') duration = 0;
    var message = o.message === undefined || o.message === null ? '' : String(o.message);

    // The cap runs before the append: the oldest open toast starts closing.
    while (open() >= max) dismiss(oldestOpen());

    var id = ++seq;
    var el = document.createElement('div');
    el.className = 'dp-toast dp-toast-' + type;
    el.setAttribute('role', 'alert');
    el.setAttribute('data-toast-id', String(id));
    el.setAttribute('data-toast-type', type);

    var icon = document.createElement('div');
    icon.className = 'dp-toast-icon';
    var i = document.createElement('i');
    i.className = 'bi ' + (ICONS[type] || ICONS.info);
    icon.appendChild(i);
    el.appendChild(icon);

    var content = document.createElement('div');
    content.className = 'dp-toast-content';
    if (o.title !== undefined && o.title !== null && o.title !== '') {
      var t = document.createElement('div');
      t.className = 'dp-toast-title';
      setText(t, String(o.title));
      content.appendChild(t);
    }
    var m = document.createElement('div');
    m.className = 'dp-toast-message';
    setText(m, message);
    content.appendChild(m);
    el.appendChild(content);

    var entry = { id: id, element: el, timer: null, closing: false };
    if (type !== 'loading' && o.dismissible !== false) {
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

  function show(a, b, c) {
    return render(normalize(a, b, c), function () { return SHOW_DURATION; });
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
    while (open() > max) dismiss(oldestOpen());
    return max;
  }

  function typed(type) {
    return function (message, opt) {
      var o = opt !== null && typeof opt === 'object' ? opt : { duration: opt };
      return render({ message: message, title: o.title, type: type, duration: o.duration, dismissible: o.dismissible },
        function (t) { return DURATIONS[t] !== undefined ? DURATIONS[t] : SHOW_DURATION; });
    };
  }

  var success = typed('success');
  var error = typed('error');
  var warning = typed('warning');
  var info = typed('info');

  var toast = {
    show: show,
    clear: clear,
    dismiss: dismiss,
    success: success,
    error: error,
    warning: warning,
    info: info,
    loading: typed('loading'),
    // Message helpers of the app's pages.
    crud: function (action, entity, ok) {
      var what = String(entity || 'Data');
      return ok === false ? error('Gagal ' + action + ' ' + what) : success(what + ' berhasil di' + action);
    },
    export: function (format, ok) {
      var f = String(format || 'file').toUpperCase();
      return ok === false ? error('Export ' + f + ' gagal') : success('Export ' + f + ' berhasil');
    },
    network: function (online) {
      return online ? success('Koneksi tersambung kembali') : error('Koneksi terputus');
    },
    config: { maxToasts: max, position: 'top-right', durations: Object.freeze(Object.assign({}, DURATIONS)), showDuration: SHOW_DURATION, hideMs: HIDE_MS }
  };

  var DP = window.DP = window.DP || {};
  DP.core = DP.core || {};
  DP.toast = toast;
  DP.core.toast = { show: show, clear: clear, setMax: setMax };
  window.showToast = show;
  document.dispatchEvent(new CustomEvent('dp:toast-ready'));
})();
