// Structure view: a local PDB or mmCIF file drawn with 3Dmol.js (vendored from npm, served by the platform),
// residues coloured by one feature's activation, aligned with the analyzed sequence (chains, gaps, numbering offsets).
import { chainsOf, align } from '../alignment.js';
import { analyze } from '../analysis.js';
import { fetchAlphaFold } from '../api.js';
import { errorHtml } from '../errors.js';
import { esc, fmt, hex } from '../format.js';
import { UNIPROT } from '../sequence.js';
import { esmc, lastAnalyzed } from '../state.js';
import { drawTracks } from '../tracks.js';

let loader;
/** 3Dmol.js (vendored from npm), loaded the first time the page is opened. */
function load3Dmol() {
  if (window.$3Dmol) return Promise.resolve(window.$3Dmol);
  loader ??= new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = 'vendor/3Dmol-min.js';
    s.onload = () => window.$3Dmol ? resolve(window.$3Dmol) : reject(new Error('3Dmol.js did not load.'));
    s.onerror = () => { loader = null; reject(new Error('3Dmol.js is not installed on this server: run `npm ci` in the repository, then rebuild.')); };
    document.head.append(s);
  });
  return loader;
}

export async function structurePage({ main, params }) {
  const last = lastAnalyzed();
  main.innerHTML = `<h1>Feature on a structure</h1>
    <div class="card">
      <div class="row">
        <label>PDB or mmCIF file <input type="file" id="file" accept=".pdb,.ent,.cif,.mmcif,.txt" disabled></label>
        <form id="af-form" class="row" style="gap:6px"><label>or UniProt id <input type="text" id="af-id" size="11" maxlength="10" placeholder="P69905"
          autocomplete="off" spellcheck="false" aria-describedby="af-note" value="${esc(params.get('uniprot') ?? '')}"></label>
          <button id="af-go" class="secondary" disabled>Fetch from AlphaFold DB</button></form>
        <label>Chain <select id="chain" disabled></select></label>
        <label>Feature <select id="feature" disabled style="max-width:22em"></select></label>
        <label><input type="checkbox" id="use-analysis" ${last ? 'checked' : 'disabled'}> align with the analyzed sequence${last ? ` (${esc(last.id)}, ${last.sequence.length} aa)` : ''}</label>
      </div>
      <p class="muted" id="af-note">The file is read in your browser and never uploaded; only the chain's sequence goes to this server's API. Grey: residues the analysis does not cover.
        “Fetch from AlphaFold DB” asks this server to download the predicted model of a UniProt accession; nothing is fetched from the internet otherwise.</p>
      <div id="status" class="status" role="status"></div>
    </div>
    <div class="card"><div id="viewer" class="viewer" aria-label="3D structure"></div><div id="strack" style="margin-top:8px;min-height:60px"></div></div>`;
  const status = main.querySelector('#status'), chainSel = main.querySelector('#chain'), featSel = main.querySelector('#feature');
  const say = (html) => { status.innerHTML = html; };
  let $3Dmol, viewer, model, chains, analysis, mapping;
  esmc.structure = null;
  try { $3Dmol = await load3Dmol(); } catch (e) { say(errorHtml(e)); return; }
  try { viewer = $3Dmol.createViewer(main.querySelector('#viewer'), { backgroundColor: 'white' }); }
  catch (e) { say(`<div class="error">This browser cannot draw 3D (WebGL): ${esc(e.message)}</div>`); return; }

  const colour = () => {
    const index = Number(featSel.value), chain = chainSel.value;
    const track = analysis?.tracks.find(t => t.index === index);
    if (!track) return;
    const buckets = new Map();
    let coloured = 0;
    for (const r of chains.get(chain)) {
      const pos = mapping.map.get(r.resi);
      const c = pos ? hex(track.values[pos - 1] / track.scale) : '#bbbbbb';
      if (pos) coloured++;
      (buckets.get(c) ?? (buckets.set(c, []), buckets.get(c))).push(r.resi);
    }
    viewer.setStyle({}, { cartoon: { color: '#e6e6e6' } });
    for (const [c, resis] of buckets) viewer.setStyle({ chain, resi: resis }, { cartoon: { color: c } });
    viewer.render();
    drawTracks(main.querySelector('#strack'), analysis.sequence, [track], { onOpen: t => { location.hash = t.href; } });
    esmc.structure = {
      chain, feature: index, coloured, residues: chains.get(chain).length, identity: mapping.identity,
      /** The colour 3Dmol holds for a residue's CA atom. */
      residueColour: resi => { const a = model.selectedAtoms({ chain, resi, atom: 'CA' })[0]; return a?.style?.cartoon?.color ?? null; },
      expected: resi => { const p = mapping.map.get(resi); return p ? hex(track.values[p - 1] / track.scale) : null; },
    };
    main.querySelector('#viewer').dataset.coloured = coloured;
  };

  const prepare = async () => {
    const chain = chainSel.value, residues = chains.get(chain);
    if (!residues?.length) return;
    const chainSeq = residues.map(r => r.aa).join('');
    const gaps = residues.slice(1).filter((r, k) => r.resi - residues[k].resi > 1).length;
    const notes = [];
    if (gaps) notes.push(`Chain ${chain} has ${gaps} gap(s) in its numbering (missing residues in the file).`);
    let sequence = chainSeq, source = `chain ${chain}'s own sequence (${chainSeq.length} residues)`;
    mapping = { map: new Map(residues.map((r, k) => [r.resi, k + 1])), identity: 1, how: 'its own sequence' };
    if (main.querySelector('#use-analysis').checked && last) {
      const a = align(residues, last.sequence);
      if (a.identity >= 0.9) { sequence = last.sequence; mapping = a; source = `${last.id} (${a.how}, ${(a.identity * 100).toFixed(0)}% identical)`; }
      else notes.push(`The file's chain ${chain} sequence does not match the analyzed sequence ${last.id} (at best ${(a.identity * 100).toFixed(0)}% identical): analyzing the chain's own sequence instead.`);
    }
    if (chainSeq.includes('X')) notes.push('Residues with unknown names are shown as X.');
    say(`<span class="muted">Analyzing ${esc(source)}…</span>`);
    try {
      analysis = await analyze(sequence, 20);
      analysis.tracks = analysis.raw;
    } catch (e) { say(errorHtml(e)); return; }
    const wanted = Number(params.get('feature') ?? featSel.value ?? NaN);
    featSel.innerHTML = analysis.raw.map(t => `<option value="${t.index}">${esc(t.label)} (max ${fmt(t.scale)})</option>`).join('');
    if (analysis.raw.some(t => t.index === wanted)) featSel.value = String(wanted);
    else {   // default: the feature active on the most residues of the chain (the most to see)
      const active = t => t.values.filter(v => v > 0).length;
      featSel.value = String(analysis.raw.reduce((a, b) => (active(b) > active(a) ? b : a)).index);
    }
    featSel.disabled = false;
    say(`<span class="ok">Coloured by activation on ${esc(source)}.</span>${notes.map(n => `<div class="notice">${esc(n)}</div>`).join('')}`);
    colour();
  };

  /** Draws a structure file's text (from a local file or AlphaFold DB) and colours it. */
  const load = async (text, name, format) => {
    viewer.clear();
    esmc.structure = null;
    delete main.querySelector('#viewer').dataset.coloured;
    try { model = viewer.addModel(text, format); } catch (err) { say(`<div class="error">Cannot read ${esc(name)}: ${esc(err.message)}</div>`); return; }
    chains = chainsOf(model.selectedAtoms({}));
    if (!chains.size) { say(`<div class="error">${esc(name)} has no protein chain (no CA atoms of amino acids): is it a PDB or mmCIF file?</div>`); return; }
    chainSel.innerHTML = [...chains].map(([c, r]) => `<option value="${esc(c)}">${esc(c)} (${r.length} residues)</option>`).join('');
    chainSel.disabled = false;
    viewer.setStyle({}, { cartoon: { color: '#e6e6e6' } });
    viewer.zoomTo(); viewer.render();
    await prepare();
  };

  main.querySelector('#file').addEventListener('change', async e => {
    const file = e.target.files[0];
    if (!file) return;
    const text = await file.text();
    await load(text, file.name, /\.(cif|mmcif)$/i.test(file.name) || /^data_/m.test(text.slice(0, 2000)) ? 'cif' : 'pdb');
  });

  const afForm = main.querySelector('#af-form'), afId = main.querySelector('#af-id'), afGo = main.querySelector('#af-go');
  afForm.addEventListener('submit', async e => {
    e.preventDefault();
    const id = afId.value.trim().toUpperCase();
    if (!UNIPROT.test(id)) { say(`<div class="error">'${esc(afId.value.trim())}' is not a UniProt accession (e.g. P69905, A0A1B0GTW7).</div>`); afId.focus(); return; }
    say(`<span class="muted">Fetching the AlphaFold DB model of ${esc(id)} through this server…</span>`);
    afGo.disabled = true;
    try {
      const got = await fetchAlphaFold(id);
      await load(got.text, `${got.entry} (AlphaFold DB)`, got.format);
    } catch (err) { say(errorHtml(err)); }
    finally { afGo.disabled = false; }
  });
  chainSel.addEventListener('change', () => { viewer.zoomTo({ chain: chainSel.value }); prepare(); });
  featSel.addEventListener('change', colour);
  main.querySelector('#use-analysis').addEventListener('change', prepare);
  // Enabled only now: a file chosen while 3Dmol.js was still loading would fire 'change' before anyone listened.
  main.querySelector('#file').disabled = false;
  afGo.disabled = false;
  if (params.get('uniprot')) afForm.requestSubmit();
}
