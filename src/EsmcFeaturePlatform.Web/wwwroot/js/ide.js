// The GraphQL IDE page (graphiql.html): graphiql over this server's POST /graphql. The curator key of this browser
// session, when one is set, is put in the headers editor (visible, and removable before running anything).
import { EXAMPLE } from './graphql-example.js';
import { gql } from './api.js';
import { curatorKey, storedSae, defaultSae } from './state.js';

const host = document.getElementById('ide');
const { React, ReactDOM, GraphiQL } = window;

if (!React || !ReactDOM || !GraphiQL) {
  host.innerHTML = `<div class="missing" role="alert"><b>The GraphQL IDE is not installed on this server.</b> Its files (the npm packages
    graphiql, react and react-dom) are missing: run <code>npm ci</code> in the repository, then rebuild.
    The <a href="/#/console">simple console</a> works without them.</div>`;
  host.dataset.state = 'missing';
} else {
  const key = curatorKey();
  const params = new URLSearchParams(location.search);
  // The example needs an SAE: the page's choice when it passed one, else the one this browser last picked, else (a
  // fresh browser opening /graphql) the one the main page would start with.
  let sae = params.get('sae') || storedSae();
  if (!sae) {
    try { sae = defaultSae((await gql('{ saes { id hasNormalizationStats isDemo } }')).saes)?.id ?? ''; }
    catch { /* the IDE still opens; the example then says which SAEs exist */ }
  }
  const fetcher = GraphiQL.createFetcher({ url: '/graphql' });
  ReactDOM.createRoot(host).render(React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: params.get('query') ?? "# The platform's GraphQL API: Ctrl+Enter runs, Ctrl+Space completes; the schema is in the docs pane.\n" + EXAMPLE,
    defaultHeaders: key ? JSON.stringify({ authorization: 'Bearer ' + key }, null, 2) : undefined,
    // `variables`, not `defaultVariables`: this graphiql (3.x) ignores the latter when it creates the first tab of a fresh
    // browser, so the example ran without $sae ("No value provided for a non-null variable").
    variables: JSON.stringify({ sae }, null, 2),
    shouldPersistHeaders: false,   // keys stay out of localStorage
    defaultEditorToolsVisibility: true,
  }));
  host.dataset.state = 'ready';
}
