// autocannon's setupRequest for bench/soak.ts, loaded in autocannon's worker thread (a function
// cannot cross into a worker, a file can): every request carries a token drawn at random from the
// JSON list in the file SOAK_TOKENS_FILE names.
const tokens = JSON.parse(require('node:fs').readFileSync(process.env.SOAK_TOKENS_FILE, 'utf8'));
module.exports = (request) => ({
  ...request,
  headers: { ...request.headers, authorization: `Bearer ${tokens[Math.floor(Math.random() * tokens.length)]}` },
});
