// Protein input the page reads itself: a pasted sequence or FASTA, and UniProt accessions. Pure functions (no DOM).

/** The demo protein of the Analyze page. */
export const DEMO = { name: 'Human ubiquitin (P0CG48, residues 1-76)', sequence: 'MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG' };

/**
 * One protein from a pasted sequence or FASTA: { id, sequence, note }. Only the FASTA framing is handled here (the first
 * record's id; its sequence lines joined); the residues go to the API as typed, so the page and the API apply the one
 * input rule (upper-casing, white space, trailing '*', refusing other characters by name) the same way.
 */
export function parseSequence(text) {
  const lines = text.split(/\r?\n/);
  let id = 'pasted', seq = '', records = 0;
  for (const raw of lines) {
    const line = raw.trim();
    if (line.startsWith('>')) { records++; if (records === 1) id = line.slice(1).split(/\s+/)[0] || 'pasted'; continue; }
    if (line.startsWith(';')) continue;
    if (records > 1) break;
    seq += line.replace(/\s+/g, '');
  }
  if (!seq) throw new Error('No sequence: paste amino acids (one-letter codes) or a FASTA record.');
  return { id, sequence: seq, note: records > 1 ? 'Only the first FASTA record is analyzed.' : '' };
}

/** UniProt's accession format (the server checks the same before it asks AlphaFold DB). */
export const UNIPROT = /^(?:[OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9](?:[A-Z][A-Z0-9]{2}[0-9]){1,2})$/;
