/*
 * api.js — JSON fetch for the project APIs, used by the page scripts (ES module).
 * (core/http.js is the deployed app's classic DP.core.http.)
 *
 *   const data = await jfetch(url, {method, body, headers, signal, timeoutMs});
 *
 * Sends X-Requested-With: XMLHttpRequest, Accept: application/json,
 * X-CSRFToken (csrftoken cookie, else <body data-csrf-token>) and a JSON body.
 * Resolves with the parsed JSON of any 2xx answer (207 included).
 * Rejects with an HttpError {status, data, message} for other answers:
 *   429        after a warning toast "Terlalu banyak permintaan. Coba lagi
 *              dalam N detik." (N from Retry-After, else body retry_after)
 *   5xx, network failure
 *              first shows LoadingManager.showError with "Coba Lagi" (primary:
 *              repeats the same request; the returned promise settles with
 *              the retry's outcome) and "Batal" (rejects with status 0,
 *              cancelled: true). The error is returned to the caller only
 *              when the user gives up.
 *   login redirect (session lost): error toast, rejects with status 401.
 */
import { LoadingManager, toast } from './ui.js';

export class HttpError extends Error {
  constructor(message, { status = 0, data = null, cancelled = false, retryAfter = null } = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.data = data;
    this.cancelled = cancelled;
    this.retryAfter = retryAfter;
  }
}

export function getCsrfToken() {
  for (const part of document.cookie ? document.cookie.split(';') : []) {
    const [k, ...v] = part.trim().split('=');
    if (k === 'csrftoken') return decodeURIComponent(v.join('='));
  }
  return (document.body && document.body.dataset.csrfToken) || '';
}

// retryAfterSeconds reads Retry-After (seconds or an HTTP date), else the
// body's retry_after, as the real app sends no header.
export function retryAfterSeconds(res, data) {
  const h = res.headers.get('Retry-After');
  if (h) {
    const n = Number(h);
    if (Number.isFinite(n)) return Math.max(0, Math.ceil(n));
    const t = Date.parse(h);
    if (!Number.isNaN(t)) return Math.max(0, Math.ceil((t - Date.now()) / 1000));
  }
  const b = data && Number(data.retry_after);
  return Number.isFinite(b) && b > 0 ? Math.ceil(b) : null;
}

function serverMessage(data, fallback) {
  if (!data || typeof data !== 'object') return fallback;
  if (data.error && typeof data.error === 'object' && data.error.message) return String(data.error.message);
  return String(data.user_message || data.message || fallback);
}

async function readBody(res) {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch (_) {
    return { raw: text };
  }
}

async function attempt(url, opts) {
  const { method = 'GET', body, headers = {}, signal, timeoutMs = 30000 } = opts;
  const h = {
    'X-Requested-With': 'XMLHttpRequest',
    Accept: 'application/json',
    ...headers,
  };
  const token = getCsrfToken();
  if (token) h['X-CSRFToken'] = token;
  let payload;
  if (body !== undefined && body !== null) {
    if (typeof body === 'string' || body instanceof FormData || body instanceof Blob) {
      payload = body;
    } else {
      payload = JSON.stringify(body);
      h['Content-Type'] = 'application/json';
    }
  }
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  if (signal) signal.addEventListener('abort', () => ctrl.abort(), { once: true });
  let res;
  try {
    res = await fetch(url, { method, headers: h, body: payload, credentials: 'same-origin', signal: ctrl.signal });
  } catch (err) {
    if (signal && signal.aborted) throw new HttpError('Permintaan dibatalkan.', { cancelled: true });
    throw new HttpError('Tidak dapat terhubung ke server. Periksa koneksi internet Anda.', { status: 0, data: { network: true } });
  } finally {
    clearTimeout(timer);
  }
  const redirectedToLogin = res.redirected && new URL(res.url, location.href).pathname.startsWith('/accounts/login/');
  if (redirectedToLogin) {
    if (res.body) res.body.cancel().catch(() => {}); // the login page is not the answer
    throw new HttpError('Sesi Anda telah berakhir. Silakan masuk kembali.', { status: 401 });
  }
  const data = await readBody(res);
  if (res.ok) return data;
  if (res.status === 429) {
    const secs = retryAfterSeconds(res, data);
    throw new HttpError('Terlalu banyak permintaan.', { status: 429, data, retryAfter: secs });
  }
  throw new HttpError(serverMessage(data, `Permintaan gagal (HTTP ${res.status}).`), { status: res.status, data });
}

function recoverable(err) {
  return err instanceof HttpError && !err.cancelled && (err.status === 0 || err.status >= 500);
}

// offerRetry shows the error overlay and settles with the retry's outcome.
function offerRetry(err, url, opts) {
  const network = err.status === 0;
  return new Promise((resolve, reject) => {
    let settled = false;
    LoadingManager.showError({
      title: network ? 'Koneksi Terputus' : 'Kesalahan Server',
      message: network ? err.message : `${err.message} (HTTP ${err.status})`,
      actions: [
        {
          label: 'Coba Lagi',
          primary: true,
          onClick: () => {
            settled = true;
            resolve(LoadingManager.wrap(() => run(url, opts), 'Mencoba lagi…'));
          },
        },
        {
          label: 'Batal',
          onClick: () => {
            settled = true;
            reject(new HttpError('Permintaan dibatalkan.', { status: err.status, data: err.data, cancelled: true }));
          },
        },
      ],
      onClose: () => {
        if (!settled) reject(new HttpError('Permintaan dibatalkan.', { status: err.status, data: err.data, cancelled: true }));
      },
    });
  });
}

async function run(url, opts) {
  try {
    return await attempt(url, opts);
  } catch (err) {
    if (recoverable(err)) return offerRetry(err, url, opts);
    if (err instanceof HttpError && err.status === 429) {
      const msg =
        err.retryAfter !== null
          ? `Terlalu banyak permintaan. Coba lagi dalam ${err.retryAfter} detik.`
          : 'Terlalu banyak permintaan. Coba lagi nanti.';
      err.message = msg;
      toast.warning(msg, { duration: 5000 });
    } else if (err instanceof HttpError && err.status === 401) {
      toast.error(err.message);
    }
    throw err;
  }
}

export function jfetch(url, opts = {}) {
  return run(url, opts);
}

export const http = { jfetch, getCsrfToken, retryAfterSeconds, HttpError };

export default http;
