// A structure file's chains against an analyzed sequence (the Structure page). Pure functions over 3Dmol.js's atoms.

const THREE = { ALA: 'A', ARG: 'R', ASN: 'N', ASP: 'D', CYS: 'C', GLN: 'Q', GLU: 'E', GLY: 'G', HIS: 'H', ILE: 'I', LEU: 'L', LYS: 'K', MET: 'M', PHE: 'F',
  PRO: 'P', SER: 'S', THR: 'T', TRP: 'W', TYR: 'Y', VAL: 'V', MSE: 'M', SEC: 'U', PYL: 'O', HSD: 'H', HSE: 'H', HIE: 'H', HID: 'H' };

/** Residues of each protein chain, in file order: chain -> [{ resi, aa }]. */
export function chainsOf(atoms) {
  const chains = new Map();
  for (const a of atoms) {
    if (a.atom !== 'CA') continue;
    const aa = THREE[a.resn?.toUpperCase()];
    if (!aa && a.hetflag) continue;
    const list = chains.get(a.chain) ?? (chains.set(a.chain, []), chains.get(a.chain));
    if (list.length && list.at(-1).resi === a.resi) continue;   // alternate locations
    list.push({ resi: a.resi, aa: aa ?? 'X' });
  }
  return chains;
}

/**
 * Maps a chain's residues to positions (1-based) of the analyzed sequence: exact substring first, else the numbering
 * offset with the most identical residues (handles missing residues). Returns { map: Map(resi -> pos), identity, how }.
 */
export function align(residues, sequence) {
  const chainSeq = residues.map(r => r.aa).join('');
  const at = sequence.indexOf(chainSeq);
  if (at >= 0) return { map: new Map(residues.map((r, k) => [r.resi, at + k + 1])), identity: 1, how: `the chain matches residues ${at + 1}-${at + chainSeq.length}` };
  let best = { score: -1, d: 0 };
  for (let d = -residues.at(-1).resi - 1; d <= sequence.length - residues[0].resi + 1; d++) {
    let score = 0;
    for (const r of residues) if (sequence[r.resi + d - 1] === r.aa) score++;
    if (score > best.score) best = { score, d };
  }
  const map = new Map();
  for (const r of residues) { const p = r.resi + best.d; if (p >= 1 && p <= sequence.length) map.set(r.resi, p); }
  return { map, identity: best.score / residues.length, how: `numbering offset ${best.d >= 0 ? '+' : ''}${best.d}` };
}
