// Shared cooldowns against the real OpenClaw, both ways (docs/openclaw.md, "Shared cooldowns"):
//
//   node cooldown.mjs --modules DIR --keyward KEYWARD_BINARY
//
// DIR is the node_modules that tools/openclaw/install.sh filled. In a private state directory
// OpenClaw's own code writes a store with two API-key profiles; a loopback API on 127.0.0.1
// counts its requests and answers 429 (retry-after 30) on /v1/limited, 200 elsewhere.
//   1. keyward -> OpenClaw: `keyward get /v1/limited --openclaw` is told to wait, exits 5 and
//      writes its window into OpenClaw's state; a fresh load of OpenClaw's store then has the
//      profile in cooldown by OpenClaw's own isProfileInCooldown, until about 30 s from now.
//   2. OpenClaw -> keyward: OpenClaw's own markAuthProfileFailure (reason rate_limit) puts the
//      other profile in cooldown; `keyward get --openclaw` on it sends nothing and exits 5.
// Prints one line per check and exits 0 when all passed; prints no secret.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";

const args = process.argv.slice(2);
const option = (name) => {
  const at = args.indexOf(name);
  return at >= 0 && at + 1 < args.length ? path.resolve(args[at + 1]) : undefined;
};
const modules = option("--modules");
const keyward = option("--keyward");
if (!modules || !keyward) {
  console.error("usage: node cooldown.mjs --modules DIR --keyward KEYWARD_BINARY");
  process.exit(2);
}

const state = mkdtempSync(path.join(tmpdir(), "keyward-openclaw-cooldown-"));
process.env.OPENCLAW_STATE_DIR = state;
process.env.OPENCLAW_AGENT_DIR = path.join(state, "agents", "main", "agent");
const dist = path.join(modules, "openclaw", "dist");
const providerAuth = await import(path.join(dist, "plugin-sdk", "provider-auth.js"));
const agentRuntime = await import(path.join(dist, "plugin-sdk", "agent-runtime.js"));
// markAuthProfileFailure is not among the plugin SDK's exports: taken from the module that
// defines it in openclaw 2026.9.6 (its file name carries the release's build hash).
const { n: markAuthProfileFailure } = await import(path.join(dist, "usage-BIERH7kx.mjs"));
if (typeof markAuthProfileFailure !== "function" || markAuthProfileFailure.name !== "markAuthProfileFailure") {
  console.error("cooldown.mjs: markAuthProfileFailure not found where openclaw 2026.9.6 has it");
  process.exit(1);
}

let requests = 0;
const api = createServer((request, response) => {
  ++requests;
  request.resume();
  if (request.url.startsWith("/v1/limited")) {
    response.writeHead(429, { "content-type": "application/json", "retry-after": "30" });
    response.end(JSON.stringify({ type: "error", error: { type: "rate_limit_error", message: "slow down" } }));
    return;
  }
  response.writeHead(200, { "content-type": "application/json" });
  response.end("{}");
});
await new Promise((resolve) => api.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${api.address().port}`;

let failed = 0;
const check = (what, ok, detail = "") => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${ok || !detail ? "" : `: ${detail}`}`);
  if (!ok) ++failed;
};
const get = (route, profile) =>
  new Promise((resolve) => {
    // Asynchronous, so that this process's loopback API answers while keyward runs.
    const run = spawn(keyward, ["get", `${origin}${route}`, "--openclaw", state, "--profile", profile],
      { stdio: ["ignore", "ignore", "pipe"], timeout: 20000 });
    let stderr = "";
    run.stderr.on("data", (chunk) => { stderr += chunk; });
    run.on("close", (code) => resolve({ code, stderr }));
  });

try {
  providerAuth.upsertAuthProfile({
    profileId: "anthropic:keyward",
    credential: { type: "api_key", provider: "anthropic", key: "sk-ant-api03-proof-one" },
  });
  providerAuth.upsertAuthProfile({
    profileId: "anthropic:openclaw",
    credential: { type: "api_key", provider: "anthropic", key: "sk-ant-api03-proof-two" },
  });

  // 1. keyward's window, honoured by OpenClaw's own code.
  let run = await get("/v1/limited", "anthropic:keyward");
  check("keyward get is told to wait by a 429 and exits 5", run.code === 5 && requests === 1,
    `exit ${run.code}, ${requests} requests: ${run.stderr.trim()}`);
  const store = agentRuntime.loadAuthProfileStoreWithoutExternalProfiles();
  const stats = store.usageStats?.["anthropic:keyward"] ?? {};
  const now = Date.now();
  check("OpenClaw reads keyward's window in its own members (cooldownUntil, rate_limit)",
    stats.cooldownReason === "rate_limit" && stats.cooldownUntil > now + 25000 &&
      stats.cooldownUntil <= now + 31000,
    JSON.stringify(stats));
  check("OpenClaw's isProfileInCooldown has the profile in cooldown",
    agentRuntime.isProfileInCooldown(store, "anthropic:keyward", now) === true);
  check("and not the other profile",
    agentRuntime.isProfileInCooldown(store, "anthropic:openclaw", now) === false);

  // 2. OpenClaw's window, honoured by keyward.
  await markAuthProfileFailure({
    store: providerAuth.ensureAuthProfileStore(),
    profileId: "anthropic:openclaw",
    reason: "rate_limit",
  });
  const after = agentRuntime.loadAuthProfileStoreWithoutExternalProfiles();
  check("OpenClaw's markAuthProfileFailure wrote a running window",
    agentRuntime.isProfileInCooldown(after, "anthropic:openclaw", Date.now()) === true,
    JSON.stringify(after.usageStats?.["anthropic:openclaw"] ?? {}));
  check("OpenClaw's write kept keyward's window",
    agentRuntime.isProfileInCooldown(after, "anthropic:keyward", Date.now()) === true);
  const sent = requests;
  run = await get("/v1/models", "anthropic:openclaw");
  check("keyward get --openclaw sends nothing inside OpenClaw's window and exits 5",
    run.code === 5 && requests === sent, `exit ${run.code}, ${requests - sent} requests: ${run.stderr.trim()}`);
} catch (error) {
  check("the cooldown checks ran", false, String(error?.stack ?? error));
} finally {
  api.close();
  rmSync(state, { recursive: true, force: true });
}
console.log(failed === 0 ? "shared cooldowns: every check passed" : `shared cooldowns: ${failed} check(s) failed`);
process.exit(failed === 0 ? 0 : 1);
