/*
 * rekap.js — the cost summary table from GET rekap/ (A/B/C/LAIN per
 * kategori, markup F, unit price G, volume and total per pekerjaan).
 */
import { jfetch } from './pages/api.js';
import { api, $, h, busy, fmt, failed, setStatus } from './pages/common.js';
import './print/RekapRABPrint.js';

const tbody = $('#rekap-rows');
const status = $('#rekap-status');

const load = () => busy(async () => {
  setStatus(status, 'Memuat data…');
  try {
    const data = await jfetch(api('rekap/'));
    const rows = data.rows || [];
    let total = 0;
    tbody.replaceChildren(
      ...rows.map((r) => {
        total += Number(r.total) || 0;
        return h('tr', { 'data-pekerjaan-id': r.pekerjaan_id, 'data-testid': 'rekap-row' },
          h('td', { class: 'dp-node-kode' }, r.kode || ''),
          h('td', {}, r.uraian || ''),
          h('td', {}, r.satuan || ''),
          h('td', { class: 'num' }, fmt(r.A)),
          h('td', { class: 'num' }, fmt(r.B)),
          h('td', { class: 'num' }, fmt(r.C)),
          h('td', { class: 'num' }, fmt(r.LAIN)),
          h('td', { class: 'num' }, `${fmt(r.markup_eff, 2)} %`),
          h('td', { class: 'num' }, fmt(r.G ?? r.unit_price)),
          h('td', { class: 'num' }, fmt(r.volume, 3)),
          h('td', { class: 'num', 'data-testid': 'rekap-row-total' }, fmt(r.total)));
      }));
    if (!rows.length) tbody.replaceChildren(h('tr', {}, h('td', { colspan: 11, class: 'dp-muted' }, 'Belum ada pekerjaan.')));
    $('#rekap-total').textContent = fmt(total);
    const m = data.meta || {};
    setStatus($('#rekap-meta'), `Markup proyek ${fmt(m.markup_percent, 2)} % · PPN ${fmt(m.ppn_percent, 2)} % · pembulatan ${fmt(m.rounding_base, 0)}`);
    setStatus(status, `${rows.length} pekerjaan`);
  } catch (err) {
    setStatus(status, 'Gagal memuat rekap.');
    failed(err, 'Gagal memuat rekap');
  }
});

$('#btn-reload-rekap').addEventListener('click', load);
load();
