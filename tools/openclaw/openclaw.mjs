// Drives OpenClaw's own auth-profile modules (the installed `openclaw` package, through its public
// `openclaw/plugin-sdk/*` exports) on the state directory in $OPENCLAW_STATE_DIR:
//
//   node openclaw.mjs NODE_MODULES TOKEN_ORIGIN seed            OpenClaw writes a new store
//   node openclaw.mjs NODE_MODULES TOKEN_ORIGIN expire PROFILE  OpenClaw marks the profile expired
//   node openclaw.mjs NODE_MODULES TOKEN_ORIGIN refresh PROFILE OpenClaw's refresh of the profile
//   node openclaw.mjs NODE_MODULES TOKEN_ORIGIN read            OpenClaw reads every profile
//   node openclaw.mjs NODE_MODULES TOKEN_ORIGIN naive-refresh PROFILE
//                                      the WRONG way, for the proof's negative control: reads the
//                                      refresh token, calls the token endpoint itself (no lock,
//                                      no fence) and writes the answer back
//   node openclaw.mjs NODE_MODULES TOKEN_ORIGIN serve           the same commands, one per line
//                                                               on standard input ("refresh
//                                                               anthropic:work"), one answer line
//                                                               each: loads OpenClaw once
//
// TOKEN_ORIGIN is the loopback token endpoint (tools/openclaw/token_server.mjs), e.g.
// http://127.0.0.1:4242. OpenClaw's Anthropic refresh posts to its built-in token URL; the only
// change made here is that this URL is sent to TOKEN_ORIGIN instead. Every other request that
// would leave 127.0.0.1 is refused, so nothing reaches the network.
//
// Output: one JSON line per command on standard output, without secrets (SHA-256 fingerprints
// only): the result with "ok": true, or "ok": false and OpenClaw's error message. Exit status 0
// on success, 1 when OpenClaw's operation failed.
import { createHash } from "node:crypto";
import path from "node:path";

const [modules, origin, firstCommand, firstProfile] = process.argv.slice(2);
if (!modules || !origin || !firstCommand) {
  console.error("usage: node openclaw.mjs NODE_MODULES TOKEN_ORIGIN seed|expire|refresh|read|serve [PROFILE]");
  process.exit(2);
}
if (!process.env.OPENCLAW_STATE_DIR) {
  console.error("OPENCLAW_STATE_DIR must name the state directory");
  process.exit(2);
}

const ANTHROPIC_TOKEN_URL = "https://platform.claude.com/v1/oauth/token";
const loopback = new URL(origin);
if (loopback.hostname !== "127.0.0.1") {
  console.error(`TOKEN_ORIGIN must be on 127.0.0.1, not ${loopback.hostname}`);
  process.exit(2);
}
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
  if (url.href === ANTHROPIC_TOKEN_URL) return realFetch(new URL("/v1/oauth/token", loopback), init);
  if (url.hostname === "127.0.0.1") return realFetch(input, init);
  return Promise.reject(new Error(`refused: the OpenClaw driver only talks to 127.0.0.1 (${url.origin})`));
};

const sdk = (name) => import(path.join(path.resolve(modules), "openclaw", "dist", "plugin-sdk", `${name}.js`));
const fingerprint = (secret) =>
  typeof secret === "string" ? createHash("sha256").update(secret).digest("hex") : null;
const FENCE = /^openclaw-oauth-refresh-fence:v1:[a-f0-9]{32}:(failed:)?refresh:[a-f0-9]{64}$/;

function describe(credential) {
  const fence = typeof credential.refresh === "string" ? FENCE.exec(credential.refresh) : null;
  return {
    type: credential.type,
    provider: credential.provider,
    expires: credential.expires ?? null,
    fence: fence ? (fence[1] ? "failed" : "pending") : null,
    secret_sha256: fingerprint(credential.refresh ?? credential.key ?? credential.token),
  };
}

const providerAuth = await sdk("provider-auth");
const agentRuntime = await sdk("agent-runtime");

async function run(command, profileId) {
  if (command === "seed") {
    const login = await (await realFetch(new URL("/login", loopback), { method: "POST" })).json();
    const hour = 3600 * 1000;
    providerAuth.upsertAuthProfile({
      profileId: "anthropic:work",
      credential: { type: "oauth", provider: "anthropic", access: login.access, refresh: login.refresh,
                    expires: Date.now() + hour, email: "proof@example.com" },
    });
    providerAuth.upsertAuthProfile({
      profileId: "openai:key",
      credential: { type: "api_key", provider: "openai", key: "sk-proof-api-key" },
    });
    providerAuth.upsertAuthProfile({
      profileId: "github:pat",
      credential: { type: "token", provider: "github", token: "ghp-proof-token", expires: Date.now() + 24 * hour },
    });
    return { seeded: ["anthropic:work", "openai:key", "github:pat"] };
  }
  if (command === "expire") {
    let expired = false;
    await providerAuth.updateAuthProfileStoreWithLock({
      profileId,
      updater: (store) => {
        const credential = store.profiles[profileId];
        if (credential?.type !== "oauth" || credential.expires === 1) return false;
        credential.expires = Date.now() - 1000;
        expired = true;
        return true;
      },
    });
    return { expired };
  }
  if (command === "refresh") {
    const result = await agentRuntime.resolveApiKeyForProfile({
      store: providerAuth.ensureAuthProfileStore(),
      profileId,
    });
    if (!result?.apiKey) throw new Error(`OpenClaw resolved no key for ${profileId}`);
    return { profile: profileId, access_sha256: fingerprint(result.apiKey) };
  }
  if (command === "naive-refresh") {
    const credential = providerAuth.ensureAuthProfileStore().profiles[profileId];
    if (credential?.type !== "oauth") throw new Error(`no OAuth profile ${profileId}`);
    const response = await realFetch(new URL("/v1/oauth/token", loopback), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ grant_type: "refresh_token", refresh_token: credential.refresh }),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(`token endpoint: ${response.status} ${body.error}`);
    providerAuth.upsertAuthProfile({
      profileId,
      credential: { ...credential, access: body.access_token, refresh: body.refresh_token,
                    expires: Date.now() + body.expires_in * 1000 },
    });
    return { profile: profileId, access_sha256: fingerprint(body.access_token) };
  }
  if (command === "read") {
    const store = agentRuntime.loadAuthProfileStoreWithoutExternalProfiles();
    return {
      profiles: Object.fromEntries(Object.entries(store.profiles).map(([id, c]) => [id, describe(c)])),
    };
  }
  throw new Error(`unknown command ${command}`);
}

async function answer(command, profileId) {
  try {
    return { ok: true, ...(await run(command, profileId)) };
  } catch (error) {
    return { ok: false, error: `openclaw ${command} ${profileId ?? ""}: ${error?.message ?? error}` };
  }
}

if (firstCommand === "serve") {
  const { createInterface } = await import("node:readline");
  console.log(JSON.stringify({ ok: true, ready: true }));
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, profileId] = line.trim().split(/\s+/);
    if (!command) continue;
    if (command === "quit") break;
    console.log(JSON.stringify(await answer(command, profileId)));
  }
  process.exit(0);
}
const result = await answer(firstCommand, firstProfile);
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
