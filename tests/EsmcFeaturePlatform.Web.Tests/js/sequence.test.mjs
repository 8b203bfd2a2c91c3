import test from 'node:test';
import assert from 'node:assert/strict';
import { page } from './web-root.mjs';

const { parseSequence, UNIPROT, DEMO } = await import(page('sequence.js'));

test('a bare sequence is joined across lines and white space, as typed otherwise', () => {
  assert.deepEqual(parseSequence('MKT AYI\r\n  akqr\n'), { id: 'pasted', sequence: 'MKTAYIakqr', note: '' });
});

test('a FASTA record gives its id; comment lines are skipped', () => {
  assert.deepEqual(parseSequence('>sp|P69905|HBA_HUMAN Hemoglobin alpha\n;a comment\nMVLS\nPADK\n'),
    { id: 'sp|P69905|HBA_HUMAN', sequence: 'MVLSPADK', note: '' });
});

test('only the first of several FASTA records is analyzed, and the page says so', () => {
  const parsed = parseSequence('>one\nMKT\n>two\nAAAA\n>three\nCCC');
  assert.equal(parsed.id, 'one');
  assert.equal(parsed.sequence, 'MKT');
  assert.equal(parsed.note, 'Only the first FASTA record is analyzed.');
});

test('a header without an id is "pasted"', () => {
  assert.equal(parseSequence('>\nMKT').id, 'pasted');
});

test('no residues is refused with a message that says what to paste', () => {
  for (const text of ['', '   \n  ', '>only_a_header', ';comment']) assert.throws(() => parseSequence(text), /No sequence: paste amino acids/);
});

test('the demo protein is a plain sequence the parser keeps whole', () => {
  assert.equal(parseSequence(`>ubiquitin ${DEMO.name}\n${DEMO.sequence}`).sequence, DEMO.sequence);
});

test('UniProt accessions: both formats accepted, PDB ids and malformed ones refused', () => {
  for (const id of ['P69905', 'Q9Y6K9', 'O15552', 'A0A1B0GTW7', 'A2BC19']) assert.ok(UNIPROT.test(id), id);
  for (const id of ['1HPV', 'p69905', 'P6990', 'P699055', 'A0A1B0GTW', 'XX0000', '']) assert.ok(!UNIPROT.test(id), id);
});
