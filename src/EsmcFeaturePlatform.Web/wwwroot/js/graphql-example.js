// The example operation both GraphQL pages open with: the graphiql IDE (ide.js) and the simple console
// (pages/console.js) that stands in for it when graphiql's npm files are missing. It needs the variable $sae.

// Anonymous on purpose: graphiql re-reads the operation name a moment after an edit, so a named example would be
// sent by that stale name when a replaced query is run at once ("Document does not contain an operation named...").
export const EXAMPLE = `query ($sae: ID!) {
  saes { id layer codebookSize hasNormalizationStats }
  feature(sae: $sae, index: 0) {
    index
    stats { maxActivation documentCount corpusSize idf }
    topExamples(first: 3) { sequenceId maxValue position }
  }
}`;
