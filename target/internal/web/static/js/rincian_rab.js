/*
 * rincian_rab.js — read-only RAB per pekerjaan from GET rekap/ (volume, unit
 * price, total) with the rincian CSV export link.
 */
import { jfetch } from './pages/api.js';
import { api, $, h, busy, fmt, failed, setStatus } from './pages/common.js';

const tbody = $('#rab-rows');
const status = $('#rab-status');

const load = () => busy(async () => {
  setStatus(status, 'Memuat data…');
  try {
    const data = await jfetch(api('rekap/'));
    const rows = data.rows || [];
    tbody.replaceChildren(...rows.map((r) => h('tr', { 'data-pekerjaan-id': r.pekerjaan_id, 'data-testid': 'rab-row' },
      h('td', { class: 'dp-node-kode' }, r.kode || ''), h('td', {}, r.uraian || ''), h('td', {}, r.satuan || ''),
      h('td', { class: 'num' }, fmt(r.volume, 3)), h('td', { class: 'num' }, fmt(r.G ?? r.unit_price)), h('td', { class: 'num' }, fmt(r.total)))));
    setStatus(status, `${rows.length} pekerjaan`);
  } catch (err) {
    setStatus(status, 'Gagal memuat data.');
    failed(err, 'Gagal memuat RAB');
  }
});

load();
