/*
 * rincian_ahsp.js — read-only rincian of every pekerjaan (at most 100): the
 * tree, then GET detail-ahsp/{id}/ per pekerjaan, one table row per item.
 */
import { jfetch } from './pages/api.js';
import { api, $, h, busy, fmt, failed, setStatus } from './pages/common.js';

const MAX_PEKERJAAN = 100;
const tbody = $('#rincian-rows');
const status = $('#rincian-status');

const load = () => busy(async () => {
  setStatus(status, 'Memuat data…');
  try {
    const tree = await jfetch(api('list-pekerjaan/tree/'));
    const jobs = [];
    for (const k of tree.klasifikasi || []) for (const s of k.sub || []) for (const p of s.pekerjaan || []) jobs.push(p);
    const trs = [];
    for (const p of jobs.slice(0, MAX_PEKERJAAN)) {
      const d = await jfetch(api(`detail-ahsp/${p.id}/`));
      trs.push(h('tr', { class: 'dp-group', 'data-pekerjaan-id': p.id }, h('th', { colspan: 6 }, `${p.snapshot_kode || ''} ${p.snapshot_uraian || ''} (${p.snapshot_satuan || '-'})`)));
      for (const it of d.items || []) {
        trs.push(h('tr', { 'data-testid': 'rincian-row' },
          h('td', {}, it.kategori || ''), h('td', { class: 'dp-node-kode' }, it.kode || ''), h('td', {}, it.uraian || ''),
          h('td', {}, it.satuan || ''), h('td', { class: 'num' }, fmt(it.koefisien, 6)), h('td', { class: 'num' }, fmt(it.harga_satuan))));
      }
    }
    tbody.replaceChildren(...trs);
    setStatus(status, `${Math.min(jobs.length, MAX_PEKERJAAN)} pekerjaan`);
  } catch (err) {
    setStatus(status, 'Gagal memuat data.');
    failed(err, 'Gagal memuat rincian');
  }
});

load();
