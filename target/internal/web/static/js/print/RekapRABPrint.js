/*
 * RekapRABPrint.js — prints the rekap table (ES module): a click on
 * [data-action="print-rekap"] opens the browser's print dialog.
 */
export function printRekap() {
  window.print();
  return true;
}

document.addEventListener('click', (ev) => {
  if (ev.target && ev.target.closest && ev.target.closest('[data-action="print-rekap"]')) printRekap();
});

export default printRekap;
