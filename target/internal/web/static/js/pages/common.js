/*
 * common.js — helpers shared by the page scripts: the page's data-*
 * attributes, API URLs, DOM building (text only, never HTML), number
 * formatting and the common error handling.
 */
import { toast } from './ui.js';

const ds = document.body ? document.body.dataset : {};

export const page = {
  name: ds.page || '',
  projectId: Number(ds.projectId || 0),
  apiBase: ds.apiBase || `/detail_project/api/project/${ds.projectId}/`,
};

// api returns the URL of a project API path such as "rekap/".
export function api(path) {
  return page.apiBase + path;
}

export const $ = (sel, root = document) => root.querySelector(sel);

// h builds an element; attrs go through setAttribute/properties, children are
// nodes or strings (as text).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const fmtCache = {};

// fmt formats a number or numeric string the Indonesian way (1.234,50).
export function fmt(v, digits = 2) {
  if (v === null || v === undefined || v === '') return '–';
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  if (!fmtCache[digits]) {
    fmtCache[digits] = new Intl.NumberFormat('id-ID', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  return fmtCache[digits].format(n);
}

// localNumber reads a number as the pages show and take it (id-ID:
// "748,336", "1.234,5"; or the API's "0.750000") into a JSON number, so the
// server never has to guess whether "1,000" is one or a thousand; anything
// else goes as typed and the server names the field.
export function localNumber(v) {
  const t = String(v).trim();
  let c = null;
  if (/^-?\d+(,\d+)?$/.test(t)) c = t.replace(',', '.');
  else if (/^-?\d{1,3}(\.\d{3})+(,\d+)?$/.test(t)) c = t.replace(/\./g, '').replace(',', '.');
  else if (/^-?\d+\.\d+$/.test(t)) c = t;
  const n = c === null ? NaN : Number(c);
  return Number.isFinite(n) ? n : t;
}

// errorList turns a legacy {errors:[{path,message}]} or v2 {details} body into lines.
export function errorList(data) {
  if (!data || typeof data !== 'object') return [];
  const errs = Array.isArray(data.errors) ? data.errors : [];
  return errs.map((e) => (e && typeof e === 'object' ? [e.path, e.message].filter(Boolean).join(': ') : String(e)));
}

// failed reports an API failure the http layer has not already shown.
export function failed(err, what = 'Gagal memproses permintaan') {
  if (!err) return;
  if (err.cancelled || err.status === 429 || err.status === 401) return; // already shown
  if (err.name !== 'HttpError') {
    console.warn(what, err);
  }
  const lines = errorList(err.data);
  const msg = (err.data && (err.data.user_message || err.data.message)) || err.message || what;
  toast.error(lines.length ? `${msg}\n${lines.slice(0, 3).join('\n')}` : msg, { title: what });
}

let busyCount = 0;

// busy runs work() with <body data-busy="true"> set, so tests and users can
// tell when a page has finished loading or saving.
export async function busy(work) {
  busyCount++;
  document.body.dataset.busy = 'true';
  try {
    return await work();
  } finally {
    busyCount--;
    if (busyCount === 0) delete document.body.dataset.busy;
  }
}

export function setStatus(el, text) {
  if (el) el.textContent = text;
}

export { toast };
