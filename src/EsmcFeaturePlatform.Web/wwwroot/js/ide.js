// The GraphQL IDE page (graphiql.html): graphiql over this server's POST /graphql. The curator key of this browser
// session, when one is set, is put in the headers editor (visible, and removable before running anything).
const host = document.getElementById('ide');
const { React, ReactDOM, GraphiQL } = window;

// Anonymous on purpose: graphiql re-reads the operation name a moment after an edit, so a named example would be
// sent by that stale name when a replaced query is run at once ("Document does not contain an operation named...").
export const EXAMPLE = `# The platform's GraphQL API: Ctrl+Enter runs, Ctrl+Space completes; the schema is in the docs pane.
query ($sae: ID!) {
  saes { id layer codebookSize hasNormalizationStats }
  feature(sae: $sae, index: 0) {
    index
    stats { maxActivation documentCount corpusSize idf }
    topExamples(first: 3) { sequenceId maxValue position }
  }
}`;

if (!React || !ReactDOM || !GraphiQL) {
  host.innerHTML = `<div class="missing" role="alert"><b>The GraphQL IDE is not installed on this server.</b> Its files (the npm packages
    graphiql, react and react-dom) are missing: run <code>npm ci</code> in the repository, then rebuild.
    The <a href="/#/console">simple console</a> works without them.</div>`;
  host.dataset.state = 'missing';
} else {
  const key = sessionStorage.getItem('esmc.curatorKey');
  const params = new URLSearchParams(location.search);
  // The example needs an SAE: the page's choice when it passed one, else the one this browser last picked, else (a
  // fresh browser opening /graphql) the server's first SAE with normalization statistics, as the main page picks.
  let sae = params.get('sae') || localStorage.getItem('esmc.sae') || '';
  if (!sae) {
    try {
      const r = await fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ saes { id hasNormalizationStats } }' }) });
      const saes = (await r.json()).data?.saes ?? [];
      sae = (saes.find(s => s.hasNormalizationStats) ?? saes[0])?.id ?? '';
    } catch { /* the IDE still opens; the example then says which SAEs exist */ }
  }
  const fetcher = GraphiQL.createFetcher({ url: '/graphql' });
  ReactDOM.createRoot(host).render(React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: params.get('query') ?? EXAMPLE,
    defaultHeaders: key ? JSON.stringify({ authorization: 'Bearer ' + key }, null, 2) : undefined,
    // `variables`, not `defaultVariables`: this graphiql (3.x) ignores the latter when it creates the first tab of a fresh
    // browser, so the example ran without $sae ("No value provided for a non-null variable").
    variables: JSON.stringify({ sae }, null, 2),
    shouldPersistHeaders: false,   // keys stay out of localStorage
    defaultEditorToolsVisibility: true,
  }));
  host.dataset.state = 'ready';
}
