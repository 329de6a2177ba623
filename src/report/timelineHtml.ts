// The memory timeline as one self-contained HTML page: the SVG inline, the hover records as an
// embedded JSON block, and a few lines of script that show a tooltip (name, kind, size, lifetime,
// offset, layer, DSL line) for the buffer or stream entry under the pointer. Nothing is loaded
// from the network.
import type { TimelineOptions, TimelinePlan } from './timeline.js';
import { esc } from './svg.js';
import { hoverRecords, timelineSvg } from './timelineSvg.js';

const SCRIPT = `
const data = JSON.parse(document.getElementById('mc-buffers').textContent);
const tip = document.getElementById('tip');
const row = (k, v) => v === undefined || v === null ? '' : '<tr><th>' + k + '</th><td>' + String(v).replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]) + '</td></tr>';
document.querySelector('svg').addEventListener('mousemove', (ev) => {
  const el = ev.target;
  let html = '';
  if (el.dataset && el.dataset.i !== undefined) {
    const d = data[Number(el.dataset.i)];
    html = '<b>' + row('', d.name).replace(/<\\/?t[rhd]>/g, '') + '</b><table>' + row('kind', d.kind) + row('size', d.size) + row('lifetime', d.life)
      + row('offset', d.offset) + row('layer', d.layer) + row('source', d.source) + '</table>';
  } else if (el.dataset && el.dataset.t !== undefined) html = row('', el.dataset.t).replace(/<\\/?t[rhd]>/g, '');
  if (!html) { tip.style.display = 'none'; return; }
  tip.innerHTML = html;
  tip.style.display = 'block';
  const x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
  const y = Math.min(ev.clientY + 14, window.innerHeight - tip.offsetHeight - 8);
  tip.style.left = x + 'px';
  tip.style.top = y + 'px';
});
document.querySelector('svg').addEventListener('mouseleave', () => { tip.style.display = 'none'; });
`;

export function renderTimelineHtml(plan: TimelinePlan, opts: TimelineOptions = {}): string {
  const { svg, unit } = timelineSvg(plan, opts, true);
  // "<" escaped so no string in the data can close the script element.
  const json = JSON.stringify(hoverRecords(plan, unit)).replace(/</g, '\\u003c');
  const title = `mc memory timeline${plan.model ? `: ${plan.model}` : ''}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${esc(title)}</title>`,
    '<style>body{margin:12px;font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;background:#fff}'
      + '#tip{position:fixed;display:none;pointer-events:none;background:#fffff0;border:1px solid #888;border-radius:3px;padding:4px 6px;font-size:12px;box-shadow:0 1px 4px rgba(0,0,0,.25);max-width:520px}'
      + '#tip table{border-collapse:collapse}#tip th{text-align:left;font-weight:normal;color:#666;padding-right:8px;vertical-align:top}'
      + 'svg{max-width:100%;height:auto}</style>',
    '</head>',
    '<body>',
    svg,
    '<div id="tip"></div>',
    `<script type="application/json" id="mc-buffers">${json}</script>`,
    `<script>${SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
