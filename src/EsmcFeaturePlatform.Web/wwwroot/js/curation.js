// The two curation mutations, shared by the Feature page (propose) and the Curate page (propose, review). Both are sent
// with this browser session's curator key; the server decides who may do what.
import { gql } from './api.js';
import { curatorKey } from './state.js';

/** Saves a new PROPOSED version; `expected` is the version the edit started from (a later one is a CONFLICT). Returns its number. */
export async function proposeDescription({ sae, index, label, text, expected }) {
  const r = await gql(`mutation P($sae: ID!, $index: Int!, $label: String!, $text: String!, $expected: Int) {
      proposeDescription(sae: $sae, index: $index, label: $label, text: $text, expectedVersion: $expected) { version } }`,
    { sae, index, label, text, expected }, curatorKey());
  return r.proposeDescription.version;
}

/** Approves or rejects (decision APPROVE / REJECT) one version. Returns { version, status, reviewer }. */
export async function reviewDescription({ sae, index, version, decision, note }) {
  const r = await gql(`mutation R($sae: ID!, $index: Int!, $version: Int!, $decision: ReviewDecision!, $note: String) {
      reviewDescription(sae: $sae, index: $index, version: $version, decision: $decision, note: $note) { version status reviewer } }`,
    { sae, index, version, decision, note }, curatorKey());
  return r.reviewDescription;
}
