// Formatting shared by every page: HTML escaping, numbers, times, the activation colour scale, links to a feature.
// Pure functions only (no DOM), so `node --test` checks them (tests/EsmcFeaturePlatform.Web.Tests/js).

const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe to put inside HTML (element content or a quoted attribute); null and undefined become ''. */
export const esc = s => String(s ?? '').replace(/[&<>"']/g, c => ENTITIES[c]);

/** A number as the page shows it: 1 decimal from 100, 3 from 1, else 3 significant digits; '—' when there is none. */
export function fmt(v) {
  if (v === null || v === undefined) return '—';
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(3) : v.toPrecision(3);
}

/** An ISO-8601 time to the minute ("2026-01-02 03:04"), '' when there is none. Not escaped. */
export const when = t => (t ?? '').replace('T', ' ').slice(0, 16);

/** A search snippet, escaped, with the search engine's <em>/<b>/<mark> highlights kept as <mark>. */
export const highlight = snippet => esc(snippet).replace(/&lt;(\/?)(em|b|mark)&gt;/g, '<$1mark>');

/** The activation colour scale, white (0) to dark blue (1), as [r, g, b]; values outside [0, 1] are clamped. */
export function rgb(t) {
  t = Number.isFinite(t) ? Math.max(0, Math.min(1, t)) : 0;
  return [Math.round(255 + (8 - 255) * t), Math.round(255 + (48 - 255) * t), Math.round(255 + (107 - 255) * t)];
}
export function colour(t) {
  const c = rgb(t);
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}
export const hex = t => '#' + rgb(t).map(v => v.toString(16).padStart(2, '0')).join('');

/** The page's address of one feature of one SAE. */
export const featureHref = (index, sae) => `#/feature?sae=${encodeURIComponent(sae)}&index=${index}`;
