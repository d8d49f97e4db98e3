/*
 * toast-wrapper.js — ES-module facade over window.DP.core.toast (toast.js).
 *
 *   import toast from '/static/detail_project/js/core/toast-wrapper.js';
 *   toast.success(msg)  1600 ms     toast.error(msg)  3000 ms
 *   toast.warning(msg)  2000 ms     toast.info(msg)   1600 ms
 *   The second argument may be a duration in ms or {title, duration}.
 *   toast.show(...)  passes any toast.js signature through
 *   toast.clear(), toast.setMax(n)
 *   toast.ready(timeoutMs = 3000) resolves with the backend in use: the
 *     toast.js object once window.DP.core.toast exists, or after the timeout
 *     the console fallback ({fallback: true}).
 *
 * When toast.js is not loaded every call goes to the console (console.info,
 * console.warn, console.error). The wrapper never throws.
 */

const DURATIONS = { success: 1600, error: 3000, warning: 2000, info: 1600 };
const CONSOLE = { success: 'info', info: 'info', loading: 'info', warning: 'warn', error: 'error', danger: 'error' };

function core() {
  const dp = window.DP;
  const t = dp && dp.core && dp.core.toast;
  return t && typeof t.show === 'function' ? t : null;
}

function log(type, message) {
  try {
    const fn = console[CONSOLE[type] || 'info'] || console.log;
    fn.call(console, `[toast:${type}]`, message);
  } catch (_) {
    // A console that throws must not break the caller either.
  }
  return null;
}

// consoleFallback mirrors the toast.js API on the console.
const consoleFallback = {
  fallback: true,
  show(a, b) {
    if (a !== null && typeof a === 'object') return log(a.type || a.variant || 'info', a.message);
    return log(typeof b === 'string' ? b : 'info', a);
  },
  clear() {},
  setMax() {},
};

function backend() {
  return core() || consoleFallback;
}

function call(fn) {
  try {
    return fn(backend());
  } catch (err) {
    log('error', `toast failed: ${err && err.message ? err.message : err}`);
    return null;
  }
}

function typed(type) {
  return (message, opt) =>
    call((b) => {
      const o = opt !== null && typeof opt === 'object' ? opt : { duration: opt };
      const duration = o.duration === undefined || o.duration === null ? DURATIONS[type] : o.duration;
      return b.show({ message, type, title: o.title, duration });
    });
}

let readyPromise = null;

function ready(timeoutMs = 3000) {
  if (core()) return Promise.resolve(core());
  if (readyPromise) return readyPromise;
  readyPromise = new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(timer);
      document.removeEventListener('dp:toast-ready', check);
      readyPromise = null;
      resolve(backend());
    };
    const check = () => {
      if (core()) finish();
    };
    // toast.js announces itself; polling covers a toast.js loaded some other way.
    document.addEventListener('dp:toast-ready', check);
    const poll = setInterval(check, 50);
    const timer = setTimeout(finish, Math.max(0, Number(timeoutMs) || 0));
  });
  return readyPromise;
}

const toast = {
  success: typed('success'),
  error: typed('error'),
  warning: typed('warning'),
  info: typed('info'),
  show: (...args) => call((b) => b.show(...args)),
  clear: () => call((b) => b.clear()),
  setMax: (n) => call((b) => b.setMax(n)),
  ready,
  isFallback: () => core() === null,
  durations: { ...DURATIONS },
};

export default toast;
export { toast, DURATIONS };
