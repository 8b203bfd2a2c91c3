import test from 'node:test';
import assert from 'node:assert/strict';
import { page } from './web-root.mjs';

const { chainsOf, align } = await import(page('alignment.js'));

const ca = (chain, resi, resn, more = {}) => ({ atom: 'CA', chain, resi, resn, ...more });

test('chainsOf keeps one residue per CA of each chain, in file order', () => {
  const chains = chainsOf([
    ca('A', 1, 'MET'), { atom: 'N', chain: 'A', resi: 2, resn: 'LYS' }, ca('A', 2, 'LYS'), ca('A', 2, 'LYS'),   // an alternate location
    ca('A', 3, 'mse'), ca('B', 10, 'GLY'), ca('A', 4, 'UNK'), ca('A', 5, 'HOH', { hetflag: true }), ca('B', 11, 'HSD'),
  ]);
  assert.deepEqual([...chains.keys()], ['A', 'B']);
  assert.deepEqual(chains.get('A'), [{ resi: 1, aa: 'M' }, { resi: 2, aa: 'K' }, { resi: 3, aa: 'M' }, { resi: 4, aa: 'X' }]);
  assert.deepEqual(chains.get('B'), [{ resi: 10, aa: 'G' }, { resi: 11, aa: 'H' }]);
});

test('a chain found in the sequence is mapped residue by residue, whatever its numbering', () => {
  const residues = [...'KTAY'].map((aa, k) => ({ resi: 101 + k, aa }));
  const a = align(residues, 'MKTAYIAK');
  assert.equal(a.identity, 1);
  assert.deepEqual([...a.map], [[101, 2], [102, 3], [103, 4], [104, 5]]);
  assert.equal(a.how, 'the chain matches residues 2-5');
});

test('a chain with missing residues is mapped by the numbering offset with the most identities', () => {
  // Residues 3 and 4 missing from the file; the file numbers the protein from 11.
  const sequence = 'MKTAYIAKQR';
  const residues = [[11, 'M'], [12, 'K'], [15, 'Y'], [16, 'I'], [17, 'A'], [18, 'K']].map(([resi, aa]) => ({ resi, aa }));
  const a = align(residues, sequence);
  assert.equal(a.identity, 1);
  assert.equal(a.how, 'numbering offset -10');
  assert.deepEqual([...a.map], [[11, 1], [12, 2], [15, 5], [16, 6], [17, 7], [18, 8]]);
});

test('a chain of another protein aligns poorly and says so by its identity', () => {
  const residues = [...'WWWWWW'].map((aa, k) => ({ resi: k + 1, aa }));
  assert.ok(align(residues, 'MKTAYIAKQR').identity < 0.9);
});
