// The calls over a stand-in for the browser's fetch: what the server's answers become (data, or an ApiError with the
// server's code and extensions, or the page's NETWORK and HTTP).
import test from 'node:test';
import assert from 'node:assert/strict';
import { page } from './web-root.mjs';

const { gql, graphqlAnswer, errorOf, parseSdl, fetchAlphaFold } = await import(page('api.js'));
const { ApiError } = await import(page('errors.js'));

/** Replaces fetch for one call: records the request, answers with `answer` (a Response, or an Error to throw). */
function serve(answer) {
  const seen = [];
  globalThis.fetch = async (url, init) => { seen.push({ url, init }); if (answer instanceof Error) throw answer; return answer; };
  return seen;
}
const json = (body, status = 200, headers = {}) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

test('gql POSTs the operation as JSON, with the key as a bearer token, and returns data', async () => {
  const seen = serve(json({ data: { saes: [] } }));
  assert.deepEqual(await gql('{ saes { id } }', { a: 1 }, 'k-1'), { saes: [] });
  assert.equal(seen[0].url, '/graphql');
  assert.equal(seen[0].init.method, 'POST');
  assert.equal(seen[0].init.headers['content-type'], 'application/json');
  assert.equal(seen[0].init.headers.authorization, 'Bearer k-1');
  assert.deepEqual(JSON.parse(seen[0].init.body), { query: '{ saes { id } }', variables: { a: 1 } });
});

test('without a key no Authorization header is sent', async () => {
  const seen = serve(json({ data: {} }));
  await gql('{ x }');
  assert.equal(seen[0].init.headers.authorization, undefined);
});

test('the first GraphQL error becomes an ApiError with its code and extensions, whatever the HTTP status', async () => {
  serve(json({ errors: [{ message: 'Storage is away.', extensions: { code: 'UNAVAILABLE', retryAfterSeconds: 7 } }, { message: 'second' }] }, 200));
  await assert.rejects(gql('{ x }'), e => e instanceof ApiError && e.code === 'UNAVAILABLE' && e.message === 'Storage is away.' && e.extensions.retryAfterSeconds === 7);
  serve(json({ errors: [{ message: 'Rate limit exceeded; retry after 2 s (Esmc:RateLimit).', extensions: { code: 'OVERLOADED' } }] }, 429, { 'retry-after': '2' }));
  await assert.rejects(gql('{ x }'), e => e.code === 'OVERLOADED');
});

test('no answer is NETWORK; an answer that is not JSON is HTTP with its status', async () => {
  serve(new TypeError('Failed to fetch'));
  await assert.rejects(gql('{ x }'), e => e.code === 'NETWORK' && e.message === 'The server cannot be reached: Failed to fetch');
  serve(new Response('<html>Bad gateway</html>', { status: 502 }));
  await assert.rejects(gql('{ x }'), e => e.code === 'HTTP' && e.message === 'The server answered HTTP 502.');
});

test('graphqlAnswer returns the whole answer, errors included (the simple console shows it)', async () => {
  const body = { errors: [{ message: 'Syntax error', extensions: { code: 'BAD_USER_INPUT' } }] };
  serve(json(body, 400));
  assert.deepEqual(await graphqlAnswer('{'), body);
});

test('errorOf: none for an answer without errors', () => {
  assert.equal(errorOf({ data: {} }), null);
  assert.equal(errorOf({ errors: [] }), null);
  assert.equal(errorOf(null), null);
  assert.equal(errorOf({ errors: [{ message: 'm' }] }).code, undefined);
});

test('fetchAlphaFold returns the file with its format and entry, or the REST error\'s code and message', async () => {
  const seen = serve(new Response('ATOM ...', { status: 200, headers: { 'x-esmc-structure-format': 'cif', 'x-esmc-structure-entry': 'AF-P69905-F1' } }));
  assert.deepEqual(await fetchAlphaFold('P69905'), { text: 'ATOM ...', format: 'cif', entry: 'AF-P69905-F1' });
  assert.equal(seen[0].url, '/api/v1/structures/alphafold/P69905');
  serve(json({ errors: [{ message: 'AlphaFold DB has no prediction for UniProt accession Q00000.', extensions: { code: 'NOT_FOUND' } }] }, 404));
  await assert.rejects(fetchAlphaFold('Q00000'), e => e.code === 'NOT_FOUND' && /no prediction/.test(e.message));
  serve(json({ errors: [{ message: 'AlphaFold DB answered HTTP 503 for P12345; try again later.', extensions: { code: 'UPSTREAM_UNAVAILABLE' } }] }, 502));
  await assert.rejects(fetchAlphaFold('P12345'), e => e.code === 'UPSTREAM_UNAVAILABLE');
  serve(new Response('gateway timeout', { status: 504 }));
  await assert.rejects(fetchAlphaFold('P12345'), e => e.code === 'HTTP' && e.message === 'The server answered HTTP 504.');
});

test('parseSdl lists the fields of Query, Mutation and Feature, extensions included', () => {
  const caps = parseSdl(`type Query {
  saes: [Sae!]!
  feature(sae: ID!, index: Int!): Feature
}
extend type Query {
  searchFeatures(query: String!): FeatureConnection!
}
type Mutation { proposeDescription(sae: ID!): Description! }
type Feature implements Node {
  index: Int!
  description: Description
}
type FeatureStats { idf: Float! }`);
  assert.deepEqual([...caps.query].sort(), ['feature', 'saes', 'searchFeatures']);
  assert.deepEqual([...caps.mutation], ['proposeDescription']);
  assert.deepEqual([...caps.feature].sort(), ['description', 'index']);
});
