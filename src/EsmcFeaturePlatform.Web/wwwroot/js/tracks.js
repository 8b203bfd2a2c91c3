// Residue-aligned activation tracks. The view scrolls natively over a spacer as wide as the protein; one canvas the
// width of the visible part stays put (position: sticky) and only the residues in sight are redrawn, once per frame
// at most while scrolling. A canvas as wide as the protein would pass the browsers' size limit (32,767 px: 2,730
// residues at 12 px, half that on a high-DPI screen) and hold megabytes per view.
import { colour, fmt } from './format.js';

export const CELL = 12, ROW = 18, HEAD = 30;

const tooltip = () => document.getElementById('tooltip');

/**
 * Draws tracks under a sequence ruler. tracks: [{ index, label, title, href, values: number[], scale, peak? }].
 * Returns { canvas, pixel(row, residue) } and keeps the tracks on the canvas element (canvas.esmcTracks).
 */
export function drawTracks(host, sequence, tracks, { labelled = true, onOpen, scrollTo } = {}) {
  host.textContent = '';
  host.classList.add('tracks');
  if (!labelled) host.style.gridTemplateColumns = '1fr';
  const n = sequence.length;
  const height = HEAD + tracks.length * ROW;
  if (labelled) {
    const labels = document.createElement('div');
    labels.className = 'track-labels';
    labels.innerHTML = '<div class="head">feature</div>';
    for (const t of tracks) {
      const div = document.createElement('div');
      div.className = 'lab';
      const a = document.createElement('a');
      a.href = t.href; a.textContent = t.label; a.title = t.title ?? t.label;
      a.dataset.featureIndex = t.index;
      div.append(a);
      labels.append(div);
    }
    host.append(labels);
  }
  const scroll = document.createElement('div');
  scroll.className = 'track-scroll';
  const inner = document.createElement('div');
  inner.style.cssText = `position:relative;width:${n * CELL}px;height:${height}px`;
  const canvas = document.createElement('canvas');
  canvas.style.cssText = `position:sticky;left:0;display:block;height:${height}px`;
  canvas.tabIndex = 0;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `Activation tracks: ${tracks.length} feature(s) over ${n} residues. Arrow keys move, Enter opens the feature.`);
  canvas.esmcTracks = tracks;
  const cursor = document.createElement('div');
  cursor.style.cssText = `position:absolute;top:0;left:0;width:${CELL}px;height:${ROW}px;border:2px solid #f0b400;pointer-events:none;display:none`;
  inner.append(canvas, cursor);
  scroll.append(inner);
  host.append(scroll);

  const g = canvas.getContext('2d');
  const dpr = window.devicePixelRatio || 1;
  let drawnLeft = 0;
  /** Draws the residues in sight (and the one partly in sight at each edge) at the current scroll position. */
  // scrollTo (1-based residue): centred in the view once the view has a width (before layout it has none).
  let centreOn = scrollTo >= 1 && scrollTo <= n ? scrollTo : null;
  const draw = () => {
    if (centreOn !== null && scroll.clientWidth > 0) {
      scroll.scrollLeft = Math.max(0, (centreOn - 1) * CELL + CELL / 2 - scroll.clientWidth / 2);
      centreOn = null;
    }
    const width = Math.max(1, Math.min(n * CELL, scroll.clientWidth || 1200));   // 0 while hidden: the resize redraws
    if (canvas.width !== Math.ceil(width * dpr) || canvas.height !== Math.ceil(height * dpr)) {
      canvas.width = Math.ceil(width * dpr); canvas.height = Math.ceil(height * dpr);
      canvas.style.width = width + 'px';
    }
    const left = Math.min(scroll.scrollLeft, n * CELL - width);
    drawnLeft = left;
    const first = Math.max(0, Math.floor(left / CELL)), last = Math.min(n, Math.ceil((left + width) / CELL));
    g.setTransform(dpr, 0, 0, dpr, -left * dpr, 0);
    g.fillStyle = '#fff'; g.fillRect(left, 0, width, height);
    g.fillStyle = '#5b6776'; g.font = '9px system-ui, sans-serif'; g.textBaseline = 'top'; g.textAlign = 'start';
    // Ruler numbers may start left of the view and run into it.
    for (let i = Math.max(0, first - 3); i < last; i++) if ((i + 1) % 10 === 0 || i === 0) g.fillText(String(i + 1), i * CELL + 1, 1);
    g.fillStyle = '#1c2430'; g.font = '11px ui-monospace, Menlo, Consolas, monospace'; g.textBaseline = 'middle'; g.textAlign = 'center';
    for (let i = first; i < last; i++) g.fillText(sequence[i], i * CELL + CELL / 2, 21);
    g.textAlign = 'start';
    tracks.forEach((t, row) => {
      const y = HEAD + row * ROW;
      for (let i = first; i < last; i++) {
        const v = t.values[i];
        if (!(v > 0)) continue;
        g.fillStyle = colour(v / t.scale);
        g.fillRect(i * CELL, y, CELL, ROW - 1);
      }
      g.fillStyle = '#eef1f5'; g.fillRect(left, y + ROW - 1, width, 1);
      if (t.peak !== undefined && t.peak !== null && t.peak - 1 >= first - 1 && t.peak - 1 <= last) {
        const x = (t.peak - 1) * CELL;
        g.strokeStyle = '#e8590c'; g.lineWidth = 2; g.strokeRect(x + 1, y + 1, CELL - 2, ROW - 3);
        g.fillStyle = '#e8590c'; g.beginPath(); g.moveTo(x + CELL / 2, HEAD - 1); g.lineTo(x + 2, HEAD - 6); g.lineTo(x + CELL - 2, HEAD - 6); g.fill();
      }
    });
  };
  let pending = false;
  const redraw = () => { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; draw(); }); } };
  scroll.addEventListener('scroll', redraw, { passive: true });
  new ResizeObserver(redraw).observe(scroll);
  draw();

  const describe = (row, i) => {
    const t = tracks[row];
    return `${t.label} · residue ${i + 1} ${sequence[i]} · value ${fmt(t.values[i] ?? 0)}${t.peak === i + 1 ? ' (peak)' : ''}`;
  };
  const at = e => {
    const i = Math.floor((e.offsetX + drawnLeft) / CELL), row = Math.floor((e.offsetY - HEAD) / ROW);
    return i >= 0 && i < n && row >= 0 && row < tracks.length ? { i, row } : null;
  };
  canvas.addEventListener('mousemove', e => {
    const hit = at(e), tip = tooltip();
    if (!hit) { tip.hidden = true; return; }
    tip.textContent = describe(hit.row, hit.i);
    tip.hidden = false;
    tip.style.left = Math.min(e.clientX + 12, window.innerWidth - tip.offsetWidth - 4) + 'px';
    tip.style.top = e.clientY + 14 + 'px';
  });
  canvas.addEventListener('mouseleave', () => { tooltip().hidden = true; });
  canvas.addEventListener('click', e => { const hit = at(e); if (hit && onOpen) onOpen(tracks[hit.row]); });
  let cur = { i: 0, row: 0 };
  const show = () => {
    cursor.style.display = 'block';
    cursor.style.transform = `translate(${cur.i * CELL}px, ${HEAD + cur.row * ROW}px)`;
    const tip = tooltip(), r = canvas.getBoundingClientRect();
    tip.textContent = describe(cur.row, cur.i); tip.hidden = false;
    tip.style.left = Math.max(4, Math.min(r.left + cur.i * CELL - scroll.scrollLeft, window.innerWidth - 300)) + 'px';
    tip.style.top = r.top + HEAD + (cur.row + 1) * ROW + 4 + 'px';
    const x = cur.i * CELL;
    if (x < scroll.scrollLeft || x > scroll.scrollLeft + scroll.clientWidth - CELL) scroll.scrollLeft = x - scroll.clientWidth / 2;
  };
  canvas.addEventListener('focus', () => { if (tracks.length) show(); });
  canvas.addEventListener('blur', () => { cursor.style.display = 'none'; tooltip().hidden = true; });
  canvas.addEventListener('keydown', e => {
    if (!tracks.length) return;
    const step = e.shiftKey ? 10 : 1;
    if (e.key === 'ArrowRight') cur.i = Math.min(n - 1, cur.i + step);
    else if (e.key === 'ArrowLeft') cur.i = Math.max(0, cur.i - step);
    else if (e.key === 'ArrowDown') cur.row = Math.min(tracks.length - 1, cur.row + 1);
    else if (e.key === 'ArrowUp') cur.row = Math.max(0, cur.row - 1);
    else if (e.key === 'Home') cur.i = 0;
    else if (e.key === 'End') cur.i = n - 1;
    else if (e.key === 'Enter' && onOpen) { onOpen(tracks[cur.row]); return; }
    else return;
    e.preventDefault();
    show();
  });
  return {
    canvas,
    /** The drawn colour at the centre of a cell: [r, g, b] (scrolls the cell into view first). */
    pixel(row, residue) {
      const x = (residue - 1) * CELL;
      if (x < scroll.scrollLeft || x + CELL > scroll.scrollLeft + scroll.clientWidth) scroll.scrollLeft = x - scroll.clientWidth / 2;
      draw();
      const d = g.getImageData(Math.floor((x + CELL / 2 - drawnLeft) * dpr), Math.floor((HEAD + row * ROW + ROW / 2) * dpr), 1, 1).data;
      return [d[0], d[1], d[2]];
    },
  };
}

/** The height a track view will take, reserved while data loads (no layout shift). */
export const tracksHeight = count => HEAD + count * ROW + 18;
