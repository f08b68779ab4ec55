// The interleaving proof against the real OpenClaw (docs/openclaw.md, "The proof"):
//
//   node proof.mjs --modules DIR [--interleavings N] [--participant SPEC]... [--delay-ms MS]
//                  [--jitter-ms MS] [--expect-failure]
//
// DIR is the node_modules that tools/openclaw/install.sh filled (openclaw and Node 24). Starts the
// loopback token endpoint (token_server.mjs: rotates refresh tokens, revokes the grant when a
// spent one comes back), lets OpenClaw write a new store in a private state directory, then runs
// rounds. Each round OpenClaw forces the OAuth profile `anthropic:work` expired, and every
// participant refreshes it at once (each after a random 0..jitter ms, default 30). A round passes
// when every participant succeeded, the token endpoint saw exactly one token call, no spent
// refresh token came back, no grant was revoked and the OpenClaw processes all came back with the
// same access token. At the end a new OpenClaw process must read every profile it wrote: no fence
// left, the refresh token the endpoint holds; and no lock file may be left in
// <stateDir>/locks/oauth-refresh.
//
// Before the rounds, the protocol checks: this script writes OpenClaw's lock file and its fences
// itself, from docs/openclaw.md (the way another program sharing the login would), and OpenClaw
// must honour them: a lock file with a live pid and a createdAt an hour old holds its refresh off
// and is not removed; a pending fence makes it wait without a token call and take the credential
// that replaces the fence; a failed fence makes it give up without a token call.
//
// A round counts as an interleaving when every participant's refresh was in flight at one
// moment. Rounds go on until N rounds (default 100) were interleavings; more than 3N rounds for
// that is a failure too. --delay-ms (default 40) delays each token answer by a random 0..MS.
//
// Participants (--participant, repeatable; default three `openclaw`):
//   openclaw          a long-lived OpenClaw process running its own refresh (openclaw.mjs serve)
//   naive             a long-lived process that refreshes the wrong way (no lock, no fence): the
//                     negative control, which must make the proof fail
//   exec:COMMAND      COMMAND run by `sh -c` each round; it passes when it exits 0. It gets
//                     OPENCLAW_STATE_DIR, KEYWARD_PROOF_PROFILE (anthropic:work),
//                     KEYWARD_PROOF_ORIGIN (the endpoint's http://127.0.0.1:PORT; any GET there
//                     answers 200 to the current access token) and KEYWARD_PROOF_TOKEN_URL
//                     (KEYWARD_PROOF_ORIGIN/v1/oauth/token)
//
// --expect-failure inverts the verdict (for the negative control). Prints one line per failed
// round and a summary; exit status 0 when the verdict is as expected. Prints no secret.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync,
  unlinkSync, writeSync,
} from "node:fs";
import { createInterface } from "node:readline";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const options = { interleavings: 100, participants: [], delayMs: 40, jitterMs: 30, expectFailure: false };
const args = process.argv.slice(2);
for (let i = 0; i < args.length; ++i) {
  const value = () => {
    if (i + 1 >= args.length) usage(`${args[i]} needs a value`);
    return args[++i];
  };
  switch (args[i]) {
    case "--modules": options.modules = path.resolve(value()); break;
    case "--interleavings": options.interleavings = Number(value()); break;
    case "--participant": options.participants.push(value()); break;
    case "--delay-ms": options.delayMs = Number(value()); break;
    case "--jitter-ms": options.jitterMs = Number(value()); break;
    case "--expect-failure": options.expectFailure = true; break;
    default: usage(`unknown argument ${args[i]}`);
  }
}
function usage(problem) {
  console.error(`proof.mjs: ${problem}`);
  console.error("usage: node proof.mjs --modules DIR [--interleavings N] [--participant openclaw|naive|exec:COMMAND]...");
  process.exit(2);
}
if (!options.modules || !existsSync(path.join(options.modules, "openclaw", "package.json"))) {
  usage("--modules must name a node_modules holding openclaw (tools/openclaw/install.sh)");
}
if (!Number.isInteger(options.interleavings) || options.interleavings < 1) {
  usage("--interleavings must be a positive integer");
}
if (options.participants.length === 0) options.participants = ["openclaw", "openclaw", "openclaw"];
for (const spec of options.participants) {
  if (spec !== "openclaw" && spec !== "naive" && !spec.startsWith("exec:")) usage(`unknown participant ${spec}`);
}

const PROFILE = "anthropic:work";
const stateDir = mkdtempSync(path.join(tmpdir(), "keyward-openclaw-proof-"));
const env = { ...process.env, OPENCLAW_STATE_DIR: stateDir, HOME: stateDir, NO_COLOR: "1" };
const children = [];
const started = Date.now();

function cleanup() {
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  rmSync(stateDir, { recursive: true, force: true });
}

// The token endpoint.
async function startServer() {
  const portFile = path.join(stateDir, "token-server.port");
  const child = spawn(process.execPath, [path.join(here, "token_server.mjs"), portFile, String(options.delayMs)], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  children.push(child);
  for (let waited = 0; !existsSync(portFile); waited += 20) {
    if (waited > 10000 || child.exitCode !== null) throw new Error("the token endpoint did not start");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return `http://127.0.0.1:${readFileSync(portFile, "utf8").trim()}`;
}

// A long-lived OpenClaw process (openclaw.mjs serve): send(command) resolves with its answer.
function startWorker(origin, name) {
  const child = spawn(process.execPath, [path.join(here, "openclaw.mjs"), options.modules, origin, "serve"], {
    env,
    stdio: ["pipe", "pipe", "inherit"],
  });
  children.push(child);
  const waiting = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    let answer;
    try {
      answer = JSON.parse(line);
    } catch {
      answer = undefined;
    }
    if (answer && typeof answer.ok === "boolean") waiting.shift()?.(answer);
    else process.stderr.write(`[${name}] ${line}\n`);
  });
  child.on("exit", (code) => {
    while (waiting.length) waiting.shift()({ ok: false, error: `${name} exited (${code})` });
  });
  const send = (command) =>
    new Promise((resolve) => {
      waiting.push(resolve);
      child.stdin.write(`${command}\n`);
    });
  const ready = new Promise((resolve) => waiting.push(resolve));
  return { name, send, ready, close: () => child.stdin.end("quit\n") };
}

function runExec(command, origin) {
  return new Promise((resolve) => {
    const child = spawn("sh", ["-c", command], {
      env: { ...env, KEYWARD_PROOF_PROFILE: PROFILE, KEYWARD_PROOF_ORIGIN: origin,
             KEYWARD_PROOF_TOKEN_URL: `${origin}/v1/oauth/token` },
      stdio: ["ignore", "inherit", "inherit"],
    });
    children.push(child);
    child.on("exit", (code, signal) =>
      resolve(code === 0 ? { ok: true } : { ok: false, error: `exec participant exited ${code ?? signal}` }));
  });
}

async function stats(origin) {
  return await (await fetch(`${origin}/stats`)).json();
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const sha256 = (text) => createHash("sha256").update(text, "utf8").digest("hex");

// The lock path's digest as docs/openclaw.md states it, written from that page.
function lockDigest(provider, profileId) {
  const mask = (1n << 64n) - 1n;
  const prime = 0x100000001b3n;
  let left = 0xcbf29ce484222325n;
  let right = 0x9ae16a3b2f90404fn;
  for (const byte of Buffer.from(JSON.stringify([provider, profileId]), "utf8")) {
    left = ((left ^ BigInt(byte)) * prime) & mask;
    right = ((right ^ (BigInt(byte) + 0x9e3779b97f4a7c15n)) * prime) & mask;
  }
  return left.toString(16).padStart(16, "0") + right.toString(16).padStart(16, "0");
}

// The fence as docs/openclaw.md states it, written from that page.
function fenceOf(profileId, credential, failed) {
  const claim = randomBytes(16).toString("hex");
  const digest = (kind, secret) =>
    sha256(JSON.stringify(["openclaw.oauth-refresh-generation", 1, profileId, credential.provider, kind, secret]));
  const state = failed ? "failed:" : "";
  const { access, refresh, expires, idToken, oauthRef, copyToAgents, ...rest } = credential;
  return {
    ...rest,
    access: `openclaw-oauth-refresh-fence:v1:${claim}:${state}access:${digest("access", access)}`,
    refresh: `openclaw-oauth-refresh-fence:v1:${claim}:${state}refresh:${digest("refresh", refresh)}`,
    expires: 1,
  };
}

// Reads or replaces one profile in the shared store the way docs/openclaw.md states it:
// <stateDir>/state/openclaw.sqlite, config_machine_state, key authProfiles.store, in BEGIN IMMEDIATE.
function withStoredProfile(profileId, change) {
  const db = new DatabaseSync(path.join(stateDir, "state", "openclaw.sqlite"));
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec("BEGIN IMMEDIATE");
    const row = db.prepare("SELECT value_json FROM config_machine_state WHERE state_key = ?").get("authProfiles.store");
    const store = JSON.parse(row.value_json);
    const before = store.profiles[profileId];
    const after = change ? change(before) : undefined;
    if (after) {
      store.profiles[profileId] = after;
      db.prepare("UPDATE config_machine_state SET value_json = ?, updated_at_ms = ? WHERE state_key = ?")
        .run(JSON.stringify(store), Date.now(), "authProfiles.store");
    }
    db.exec("COMMIT");
    return before;
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  } finally {
    db.close();
  }
}

// Checks that OpenClaw honours the lock and the fences written exactly as docs/openclaw.md says
// (what another program sharing the login writes): a lock file with a live pid and an old
// createdAt holds OpenClaw off; a pending fence makes it wait without a token call and take what
// replaces the fence; a failed fence makes it give up without a token call.
async function protocolChecks(origin, controller, worker) {
  const problems = [];
  const calls = async () => (await stats(origin)).token_calls;
  const pending = (promise) => {
    let settled = false;
    promise.then(() => (settled = true));
    return () => settled;
  };

  // Two refreshes first: the first loads OpenClaw's refresh code in the worker; the lock is then
  // held for ten times as long as the second took (at least 2 s), so an OpenClaw that ignored
  // the lock would have made its token call before the lock goes.
  const expire = async () => {
    const expired = await controller.send(`expire ${PROFILE}`);
    if (!expired.ok || !expired.expired) throw new Error(`OpenClaw could not force the expiry: ${expired.error ?? "a fence"}`);
  };
  let warmMs = 0;
  let callsBefore = 0;
  for (let warmUp = 0; warmUp < 2; ++warmUp) {
    await expire();
    callsBefore = await calls();
    const warmStart = performance.now();
    const warm = await worker.send(`refresh ${PROFILE}`);
    warmMs = performance.now() - warmStart;
    if (!warm.ok || (await calls()) !== callsBefore + 1) return [`protocol checks: OpenClaw's refresh failed: ${warm.error ?? "token calls"}`];
  }
  const holdMs = Math.max(2000, 10 * warmMs);
  console.log(`openclaw proof: OpenClaw's refresh took ${warmMs.toFixed(0)} ms; the lock and the fence are held ${holdMs.toFixed(0)} ms`);

  // The lock: at the documented path, in the documented format, held by this (live) process.
  await expire();
  const lockDir = path.join(stateDir, "locks", "oauth-refresh");
  const lockPath = path.join(lockDir, `lock-${lockDigest("anthropic", PROFILE)}.lock`);
  mkdirSync(lockDir, { recursive: true });
  const fd = openSync(lockPath, "wx", 0o600);
  writeSync(fd, JSON.stringify({ pid: process.pid, createdAt: new Date(Date.now() - 3600e3).toISOString() }, null, 2));
  closeSync(fd);
  callsBefore = await calls();
  let answer = worker.send(`refresh ${PROFILE}`);
  let done = pending(answer);
  await sleep(holdMs);
  if (done()) problems.push("lock check: OpenClaw refreshed while the documented lock file was held");
  if ((await calls()) !== callsBefore) problems.push("lock check: a token call while the documented lock file was held");
  try {
    statSync(lockPath);
  } catch {
    problems.push("lock check: OpenClaw removed a lock file whose owner is alive (because of its age)");
  }
  try {
    unlinkSync(lockPath);
  } catch {}
  let result = await answer;
  if (!result.ok) problems.push(`lock check: OpenClaw's refresh failed after the lock was released: ${result.error}`);
  if ((await calls()) !== callsBefore + 1) problems.push("lock check: not one token call after the lock was released");

  // A pending fence: OpenClaw waits, makes no token call, and takes the credential that replaces it.
  const current = withStoredProfile(PROFILE);
  withStoredProfile(PROFILE, (credential) => fenceOf(PROFILE, credential, false));
  callsBefore = await calls();
  answer = worker.send(`refresh ${PROFILE}`);
  done = pending(answer);
  await sleep(holdMs);
  if (done()) problems.push("fence check: OpenClaw did not wait for the documented pending fence");
  withStoredProfile(PROFILE, () => current);
  result = await answer;
  if (!result.ok) problems.push(`fence check: OpenClaw did not take the credential that replaced the fence: ${result.error}`);
  else if (result.access_sha256 !== sha256(current.access)) problems.push("fence check: OpenClaw came back with another access token");
  if ((await calls()) !== callsBefore) problems.push("fence check: a token call while a pending fence was in the store");

  // A failed fence: OpenClaw gives up, without a token call.
  withStoredProfile(PROFILE, (credential) => fenceOf(PROFILE, credential, true));
  result = await worker.send(`refresh ${PROFILE}`);
  if (result.ok) problems.push("failed-fence check: OpenClaw used a profile holding the documented failed fence");
  if ((await calls()) !== callsBefore) problems.push("failed-fence check: a token call for a failed fence");
  withStoredProfile(PROFILE, () => current);
  return problems;
}

async function main() {
  const origin = await startServer();
  const controller = startWorker(origin, "controller");
  const participants = options.participants.map((spec, index) => {
    const name = `${spec.startsWith("exec:") ? "exec" : spec}#${index + 1}`;
    if (spec.startsWith("exec:")) {
      const command = spec.slice("exec:".length);
      return { name, refresh: () => runExec(command, origin), close() {} };
    }
    const worker = startWorker(origin, name);
    const verb = spec === "naive" ? "naive-refresh" : "refresh";
    return { name, spec, ready: worker.ready, send: worker.send, refresh: () => worker.send(`${verb} ${PROFILE}`), close: worker.close };
  });
  for (const worker of [controller, ...participants]) {
    if (!worker.ready) continue;
    const ready = await worker.ready;
    if (!ready.ok) throw new Error(`${worker.name} did not start: ${ready.error}`);
  }
  const seeded = await controller.send("seed");
  if (!seeded.ok) throw new Error(seeded.error);
  const before = await controller.send("read");
  if (!before.ok) throw new Error(before.error);

  const failures = options.expectFailure ? [] : await protocolChecks(origin, controller, participants.find((p) => p.spec === "openclaw") ?? controller);
  if (!options.expectFailure) console.log(`openclaw proof: lock, fence and failed-fence checks: ${failures.length ? "FAILED" : "ok"}`);
  const roundsStarted = Date.now();
  let expiries = 0;
  let interleaved = 0;
  let previous = await stats(origin);
  const callsBeforeRounds = previous.token_calls;
  for (let round = 1; interleaved < options.interleavings; ++round) {
    if (round > 3 * options.interleavings) {
      failures.push(`only ${interleaved} interleavings in ${round - 1} rounds`);
      break;
    }
    const expired = await controller.send(`expire ${PROFILE}`);
    if (!expired.ok || !expired.expired) {
      failures.push(`round ${round}: OpenClaw could not force the expiry (${expired.error ?? "profile is a fence"})`);
      break;
    }
    ++expiries;
    const results = await Promise.all(
      participants.map(async (participant) => {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * options.jitterMs));
        const start = performance.now();
        const answer = await participant.refresh();
        return { name: participant.name, start, end: performance.now(), ...answer };
      }),
    );
    // An interleaving: every participant's refresh was in flight at one moment.
    if (Math.max(...results.map((r) => r.start)) < Math.min(...results.map((r) => r.end))) ++interleaved;
    const now = await stats(origin);
    const calls = now.token_calls - previous.token_calls;
    const problems = [];
    for (const result of results) if (!result.ok) problems.push(`${result.name} failed: ${result.error}`);
    if (calls !== 1) problems.push(`${calls} token calls for one expiry`);
    const accessTokens = new Set(results.filter((r) => r.ok && r.access_sha256).map((r) => r.access_sha256));
    if (accessTokens.size > 1) problems.push(`OpenClaw processes came back with ${accessTokens.size} different access tokens`);
    if (now.spent_presented !== previous.spent_presented) problems.push("a spent refresh token was presented");
    if (now.revocations !== previous.revocations) problems.push("the grant was revoked");
    previous = now;
    if (problems.length) {
      failures.push(`round ${round}: ${problems.join("; ")}`);
      if (now.revocations > 0) break; // every later round would fail the same way
    }
  }

  const roundsSeconds = ((Date.now() - roundsStarted) / 1000).toFixed(1);
  // A new OpenClaw process reads every profile back.
  const reader = await new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(here, "openclaw.mjs"), options.modules, origin, "read"], {
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(child);
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.on("exit", () => {
      const line = out.trim().split("\n").reverse().find((l) => l.startsWith("{"));
      try {
        resolve(JSON.parse(line));
      } catch {
        resolve({ ok: false, error: "the reader printed no answer" });
      }
    });
  });
  const final = await stats(origin);
  if (!reader.ok) {
    failures.push(`OpenClaw could not read the store afterwards: ${reader.error}`);
  } else {
    for (const [id, was] of Object.entries(before.profiles)) {
      const now = reader.profiles[id];
      if (!now) failures.push(`OpenClaw no longer reads profile ${id}`);
      else if (now.type !== was.type || now.provider !== was.provider) failures.push(`profile ${id} changed type or provider`);
      else if (now.fence) failures.push(`profile ${id} is left a ${now.fence} fence`);
      else if (id === PROFILE && now.secret_sha256 !== final.refresh_sha256) failures.push(`profile ${id} does not hold the endpoint's current refresh token`);
      else if (id !== PROFILE && now.secret_sha256 !== was.secret_sha256) failures.push(`profile ${id} lost its secret`);
    }
  }

  let leftLocks = [];
  try {
    leftLocks = readdirSync(path.join(stateDir, "locks", "oauth-refresh"));
  } catch {}
  if (leftLocks.length) failures.push(`lock files left behind: ${leftLocks.join(", ")}`);

  for (const worker of [controller, ...participants]) worker.close();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const profiles = reader.ok ? Object.keys(reader.profiles).length : 0;
  for (const failure of failures.slice(0, 20)) console.log(`  FAIL ${failure}`);
  if (failures.length > 20) console.log(`  ... and ${failures.length - 20} more`);
  console.log(
    `openclaw proof: ${expiries} forced expiries, participants ${options.participants.map((p) => (p.startsWith("exec:") ? "exec" : p)).join(", ")}: ` +
      `${interleaved} with all participants' refreshes in flight together; ` +
      `${final.token_calls - callsBeforeRounds} token calls in the rounds (${final.token_calls} in all), ${final.spent_presented} spent refresh tokens presented, ` +
      `${final.revocations} grants revoked; OpenClaw reads ${profiles} of ${Object.keys(before.profiles).length} profiles; ` +
      `${failures.length} failures; ${seconds} s (rounds ${roundsSeconds} s)`,
  );
  const passed = failures.length === 0 && interleaved >= options.interleavings;
  if (options.expectFailure) {
    console.log(passed ? "openclaw proof: the negative control PASSED, so the proof cannot tell (FAIL)" : "openclaw proof: the negative control failed, as it must (ok)");
    return passed ? 1 : 0;
  }
  console.log(passed ? "openclaw proof: ok" : "openclaw proof: FAILED");
  return passed ? 0 : 1;
}

let status = 1;
try {
  status = await main();
} catch (error) {
  console.error(`openclaw proof: ${error?.message ?? error}`);
} finally {
  cleanup();
}
process.exit(status);
