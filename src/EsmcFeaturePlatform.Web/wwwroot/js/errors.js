// What the page says when a call fails: one message per error code the server sends (extensions.code, README "GraphQL
// API" and "Web page"), plus the page's own two (no answer, an answer that is not JSON). The web tests check that
// SERVER_CODES are exactly the codes the server's code defines, no more, no fewer (PageScriptTests), and that the
// served page shows each with its own message (ErrorMessageTests).
import { esc } from './format.js';

/** A failed call: the server's message and extensions.code (or the page's NETWORK / HTTP), extensions kept. */
export class ApiError extends Error {
  constructor(message, code, extensions = {}) { super(message); this.code = code; this.extensions = extensions; }
}

const retry = e => {
  const seconds = e.extensions?.retryAfterSeconds;
  return Number.isFinite(seconds) ? ` Try again in ${seconds} s.` : ' Try again in a moment.';
};

/** The server's codes. Each message keeps the server's own text where it names the real cause. */
export const SERVER_CODES = Object.freeze({
  // The input is refused by name (a character and its position, a range, an unknown SAE): the message says it all.
  BAD_USER_INPUT: e => e.message,
  UNAUTHENTICATED: e => `Refused: ${e.message} Set a curator key on the Curate page (it is kept only for this browser session). Nothing was changed.`,
  // The role needed, a self-approval: the server's message names it; never a guess.
  FORBIDDEN: e => 'Refused: ' + e.message,
  // Who already reviewed a version, which version is now the latest.
  CONFLICT: e => 'Conflict: ' + e.message,
  NOT_FOUND: e => e.message,
  // The inference queue is full, or this browser hit the rate limit (the message says when to retry).
  OVERLOADED: e => 'The server is busy: ' + e.message,
  // Storage or a part of the platform did not answer: a change may or may not have been applied.
  UNAVAILABLE: e => 'The platform is briefly unavailable: ' + e.message + retry(e),
  INTERNAL: e => 'The server failed (INTERNAL): ' + e.message + ' If it happens again, tell the operator of this server.',
  // Never repeats what matched, not even the server's message.
  SCREENED: () => 'Refused by this server\'s biosecurity screening (controlled pathogens and toxins): the sequence or search was not processed. If you believe this is a mistake, contact the operator of this server.',
  // AlphaFold DB (behind GET /api/v1/structures/alphafold/{id}) down, too slow or answering nonsense.
  UPSTREAM_UNAVAILABLE: e => e.message,
});

/** The page's own codes: a call that got no answer, and an answer that is not the API's JSON. */
export const PAGE_CODES = Object.freeze({
  NETWORK: e => e.message,
  HTTP: e => e.message,
});

/** A message a person can act on, for an error of a call or of the page itself (no code: its message as it is). */
export function explain(error) {
  const say = SERVER_CODES[error.code] ?? PAGE_CODES[error.code];
  if (say) return say(error);
  // A code this page does not know (a newer server): still say it, with the server's message.
  return (error.code ? error.code + ': ' : '') + error.message;
}

/** An error box for a failed call; data-code carries the code for scripts and tests. */
export const errorHtml = error =>
  `<div class="error"${error.code ? ` data-code="${esc(error.code)}"` : ''}>${esc(explain(error))}</div>`;
