import test from 'node:test';
import assert from 'node:assert/strict';
import { page } from './web-root.mjs';

const { ApiError, SERVER_CODES, PAGE_CODES, explain, errorHtml } = await import(page('errors.js'));

test('every code has its own explanation that keeps the server\'s message (SCREENED excepted)', () => {
  for (const code of [...Object.keys(SERVER_CODES), ...Object.keys(PAGE_CODES)]) {
    const text = explain(new ApiError('the server says: index 99 is out of range', code));
    assert.ok(text.length > 0, code);
    if (code === 'SCREENED') assert.ok(!text.includes('index 99'), 'a screening refusal never repeats the server\'s message');
    else assert.ok(text.includes('index 99 is out of range'), `${code}: ${text}`);
  }
});

test('a refusal for want of a key says where to set one; a screening refusal says what happened and nothing of what matched', () => {
  assert.match(explain(new ApiError('proposeDescription needs an API key with the curator role (Authorization: Bearer KEY).', 'UNAUTHENTICATED')),
    /^Refused: proposeDescription needs .* Set a curator key on the Curate page .* Nothing was changed\.$/);
  const screened = explain(new ApiError('Ricin A-chain', 'SCREENED'));
  assert.match(screened, /biosecurity screening/);
  assert.doesNotMatch(screened, /icin/);
});

test('an unavailable platform says when to try again, from extensions.retryAfterSeconds when the server gave it', () => {
  assert.match(explain(new ApiError('Storage is away.', 'UNAVAILABLE', { retryAfterSeconds: 5 })), /Storage is away\. Try again in 5 s\.$/);
  assert.match(explain(new ApiError('Storage is away.', 'UNAVAILABLE')), /Try again in a moment\.$/);
});

test('the input\'s own problem is the server\'s message as it is', () => {
  assert.equal(explain(new ApiError("Sequence has '1' at position 4.", 'BAD_USER_INPUT')), "Sequence has '1' at position 4.");
});

test('an error of the page itself (no code) is its message; an unknown code is named with the message', () => {
  assert.equal(explain(new Error('No sequence: paste amino acids.')), 'No sequence: paste amino acids.');
  assert.equal(explain(new ApiError('Something new.', 'SOMETHING_NEW')), 'SOMETHING_NEW: Something new.');
});

test('errorHtml escapes the message and carries the code for scripts', () => {
  assert.equal(errorHtml(new ApiError('<b>x</b>', 'CONFLICT')), '<div class="error" data-code="CONFLICT">Conflict: &lt;b&gt;x&lt;/b&gt;</div>');
  assert.equal(errorHtml(new Error('plain')), '<div class="error">plain</div>');
});
