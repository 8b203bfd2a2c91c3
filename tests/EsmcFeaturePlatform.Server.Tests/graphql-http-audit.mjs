// graphql-http's server audits (the GraphQL-over-HTTP spec's MUST, SHOULD and MAY checks, npm graphql-http, pinned in
// the root package.json) against one endpoint. Prints a JSON array of { id, name, status, reason } on stdout, status
// being 'ok', 'warn' (a SHOULD failed), 'notice' (a MAY) or 'error' (a MUST). Run by GraphQLOverHttpTests:
//   node graphql-http-audit.mjs http://127.0.0.1:PORT/graphql
// The module is found by walking up from this file to the repository's node_modules (`npm ci` installs it).
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node graphql-http-audit.mjs URL');
  process.exit(2);
}
const results = [];
// One at a time: the audits are independent, and the server under test shares two cores with everything else.
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  results.push({ id: result.id, name: result.name, status: result.status, reason: result.reason ?? null });
}
process.stdout.write(JSON.stringify(results));
