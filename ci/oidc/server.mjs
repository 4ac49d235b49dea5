// A real OpenID provider (npm `oidc-provider` 9.x) for the msht-hub interop tests.
//
//   node server.mjs [PORT]          (or OIDC_PORT=PORT node server.mjs)
//
// Listens on 127.0.0.1 only; the issuer is http://127.0.0.1:PORT (plain http is expected in tests).
//
// Environment (all optional):
//   OIDC_PORT            port when not given as argv[2] (default 9400)
//   OIDC_CLIENT_ID       client id        (default msht-interop)
//   OIDC_CLIENT_SECRET   client secret    (default interop-secret-0123456789abcdefghij)
//   OIDC_AUDIENCE        resource indicator / `aud` of access tokens (default urn:msht-hub:api)
//   OIDC_SCOPES          scopes the resource server accepts (default "hub:read hub:write")
//   OIDC_ROLES           comma-separated `roles` claim of access tokens (default practitioner)
//   OIDC_TOKEN_TTL       access token lifetime in seconds (default 3600)
//   OIDC_CONSOLE_REDIRECT_URIS     comma-separated redirect URIs of the IG console's client; when
//                                  set, an authorization-code client is registered and the
//                                  provider's own login form (devInteractions) signs people in
//   OIDC_CONSOLE_POST_LOGOUT_URIS  comma-separated post-logout redirect URIs of that client
//   OIDC_CONSOLE_CLIENT_ID         its client id (default msht-console)
//   OIDC_CONSOLE_CLIENT_SECRET     its client secret (default console-secret-0123456789abcdefghij)
//
// The console's client (authorization code, PKCE, client_secret_basic) gets ID tokens with
// `name` and a `roles` claim: whoever signs in at the login form with the login `ig_officer`
// holds the role ig_officer, `practitioner` the role practitioner, and so on (any password).
//
// A client_credentials grant with resource=<audience> returns an RFC 9068 JWT access token
// (header typ "at+jwt", RS256, kid of a key published at /jwks). A request without `resource`
// gets the same audience (defaultResource). The client may authenticate with
// client_secret_basic or client_secret_post (oidc-provider accepts both for either method).
//
// Key rotation for tests: `POST /__ci/rotate-keys` generates a new RSA key that signs from then
// on; the old keys stay published in the JWKS. `POST /__ci/rotate-keys?drop_old=1` publishes only
// the new key. Both answer the new JWKS (public keys).

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import process from 'node:process';

import Provider, { errors } from 'oidc-provider';

const port = Number.parseInt(process.argv[2] ?? process.env.OIDC_PORT ?? '9400', 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`invalid port: ${process.argv[2] ?? process.env.OIDC_PORT}`);
  process.exit(2);
}
const host = '127.0.0.1';
const issuer = `http://${host}:${port}`;
const clientId = process.env.OIDC_CLIENT_ID || 'msht-interop';
const clientSecret = process.env.OIDC_CLIENT_SECRET || 'interop-secret-0123456789abcdefghij';
const audience = process.env.OIDC_AUDIENCE || 'urn:msht-hub:api';
const scopes = (process.env.OIDC_SCOPES ?? 'hub:read hub:write').split(/\s+/).filter(Boolean);
const roles = (process.env.OIDC_ROLES ?? 'practitioner').split(',').map((r) => r.trim()).filter(Boolean);
const tokenTtl = Number.parseInt(process.env.OIDC_TOKEN_TTL ?? '3600', 10);
const list = (v) => (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);
const consoleRedirects = list(process.env.OIDC_CONSOLE_REDIRECT_URIS);
const consolePostLogout = list(process.env.OIDC_CONSOLE_POST_LOGOUT_URIS);
const consoleClientId = process.env.OIDC_CONSOLE_CLIENT_ID || 'msht-console';
const consoleClientSecret = process.env.OIDC_CONSOLE_CLIENT_SECRET || 'console-secret-0123456789abcdefghij';
const withConsole = consoleRedirects.length > 0;

// Anyone signing in at the login form: the login names the role.
async function findAccount(_ctx, id) {
  const login = String(id).slice(0, 64);
  return {
    accountId: login,
    async claims() {
      return { sub: login, name: `CI ${login.replace(/_/g, ' ')}`, roles: [login] };
    },
  };
}

function newSigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return {
    ...jwk,
    kid: `ci-${new Date().toISOString().replace(/[^0-9]/g, '').slice(0, 14)}-${crypto.randomBytes(4).toString('hex')}`,
    alg: 'RS256',
    use: 'sig',
  };
}

function publicJwks(keys) {
  return {
    keys: keys.map(({ kty, n, e, kid, alg, use }) => ({ kty, n, e, kid, alg, use })),
  };
}

// The first key signs; all keys are published.
let signingKeys = [newSigningKey()];
const cookieKeys = [crypto.randomBytes(32).toString('base64url')];

function buildProvider(keys) {
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: scopes.join(' '),
      },
      ...(withConsole
        ? [
            {
              client_id: consoleClientId,
              client_secret: consoleClientSecret,
              grant_types: ['authorization_code'],
              response_types: ['code'],
              redirect_uris: consoleRedirects,
              post_logout_redirect_uris: consolePostLogout,
              token_endpoint_auth_method: 'client_secret_basic',
              scope: 'openid profile',
            },
          ]
        : []),
    ],
    scopes: ['openid', 'offline_access', 'profile', ...scopes],
    claims: { openid: ['sub'], profile: ['name', 'roles'] },
    conformIdTokenClaims: false,
    findAccount,
    jwks: { keys },
    cookies: { keys: cookieKeys },
    features: {
      devInteractions: { enabled: withConsole },
      rpInitiatedLogout: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // The console's sign-in asks for no API audience: its access token is the provider's own.
        defaultResource: async (ctx) => (ctx.oidc.client?.clientId === consoleClientId ? undefined : audience),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resourceIndicator) => {
          if (resourceIndicator !== audience) {
            throw new errors.InvalidTarget(`unknown resource ${resourceIndicator}`);
          }
          return {
            audience,
            scope: scopes.join(' '),
            accessTokenTTL: tokenTtl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    extraTokenClaims: async (_ctx, token) => {
      if (token.kind === 'AccessToken' || token.kind === 'ClientCredentials') {
        return { roles };
      }
      return undefined;
    },
    ttl: {
      ClientCredentials: tokenTtl,
      AccessToken: tokenTtl,
    },
  });
  provider.on('server_error', (_ctx, err) => console.error('server_error', err));
  return provider;
}

let handler = buildProvider(signingKeys).callback();

const server = http.createServer((req, res) => {
  const url = new URL(req.url, issuer);
  if (req.method === 'POST' && url.pathname === '/__ci/rotate-keys') {
    const fresh = newSigningKey();
    signingKeys = url.searchParams.get('drop_old') ? [fresh] : [fresh, ...signingKeys];
    handler = buildProvider(signingKeys).callback();
    console.log(`rotated signing key: now ${fresh.kid}, published ${signingKeys.map((k) => k.kid).join(',')}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(publicJwks(signingKeys)));
    return;
  }
  handler(req, res);
});

server.listen(port, host, () => {
  console.log(`oidc-provider listening on ${issuer} (client ${clientId}, audience ${audience}, kid ${signingKeys[0].kid})`);
  if (withConsole) {
    console.log(`console client ${consoleClientId}: redirect ${consoleRedirects.join(',')}, login form enabled`);
  }
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
