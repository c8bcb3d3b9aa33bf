// A real OpenID provider (panva's oidc-provider, with its development login
// and consent pages) for kegauth's OAuth tests, on a loopback port.
//
//   OIDC_TEST_CONFIG='{"clients": [...], "accounts": {"ann": {"email": ...}}}' node provider.mjs
//
// Prints {"issuer": "http://127.0.0.1:<port>"} on its first line once it listens.
// Accounts: the development login page takes any login; the login names an
// account of `accounts`, whose claims the provider hands out (sub is the login).
import http from 'node:http';
import Provider from 'oidc-provider';

// stdout carries only the first line; the provider's own notes go to stderr.
const announce = (line) => process.stdout.write(`${line}\n`);
console.log = console.info = (...args) => console.error(...args);

const config = JSON.parse(process.env.OIDC_TEST_CONFIG || '{}');
const accounts = config.accounts || {};

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: config.clients || [],
    async findAccount(ctx, id) {
      const claims = accounts[id];
      if (!claims) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...claims }; } };
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'name'],
    },
    // false puts the scopes' claims in the ID token too; true (the
    // default) keeps them for the userinfo endpoint.
    conformIdTokenClaims: config.conformIdTokenClaims ?? true,
    cookies: { keys: ['kegauth-test-cookie-key'] },
    // HS256 too, for a client whose ID tokens kegauth must refuse.
    enabledJWA: { idTokenSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA', 'HS256'] },
    features: { devInteractions: { enabled: true } },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  announce(JSON.stringify({ issuer }));
});

// Stop with the test that started it.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
