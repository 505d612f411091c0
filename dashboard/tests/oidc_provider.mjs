// A real OpenID Connect provider (npm oidc-provider) for the dashboard's sign-in test: authorization code
// with PKCE for the public client `eoc-dashboard`, JWT access tokens for audience `eoc` carrying `role`.
// Usage: node oidc_provider.mjs PORT REDIRECT_URI ROLE   (prints "ready" when listening)
import { generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";

const [port, redirectUri, role] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const key = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
const RESOURCE = "urn:eoc:api";

const provider = new Provider(issuer, {
  clients: [{
    client_id: "eoc-dashboard", token_endpoint_auth_method: "none", redirect_uris: [redirectUri],
    grant_types: ["authorization_code"], response_types: ["code"],
  }],
  jwks: { keys: [{ ...key, kid: "test-key", alg: "RS256", use: "sig" }] },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: "openid profile", audience: "eoc", accessTokenFormat: "jwt", jwt: { sign: { alg: "RS256" } },
      }),
    },
  },
  extraTokenClaims: async () => ({ role }),
  findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid profile");
    grant.addResourceScope(RESOURCE, "openid profile");
    await grant.save();
    return grant;
  },
});
provider.listen(Number(port), "127.0.0.1", () => console.log("ready"));
