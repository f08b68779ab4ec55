// A loopback OAuth token endpoint with reuse detection, for the OpenClaw interleaving proof.
//
//   node token_server.mjs PORT_FILE [MAX_DELAY_MS]
//
// Listens on 127.0.0.1 (an ephemeral port, written to PORT_FILE once listening) and serves:
//   POST /login             starts a new grant: answers {"access","refresh"} (the first tokens)
//   POST /v1/oauth/token    grant_type=refresh_token (JSON or form body): a current refresh token
//                           is rotated (new access and refresh, expires_in 3600); a spent one
//                           revokes the whole grant (counted) and is refused with invalid_grant;
//                           any other token is refused with invalid_grant
//   GET  /stats             {"token_calls","rotations","spent_presented","revocations",
//                            "unknown_presented","refresh_sha256"} (of the live refresh token)
//   any other GET           200 when the bearer is the current access token, else 401 (an API to
//                           call with the credential)
// MAX_DELAY_MS (default 0): each token call is answered after a random delay up to this long, so
// that the other processes find the refresh in flight. Tokens are random; this server exists
// only for tests and prints nothing secret.
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync, renameSync } from "node:fs";
import http from "node:http";

const portFile = process.argv[2];
const maxDelayMs = Number(process.argv[3] ?? 0);
if (!portFile) {
  console.error("usage: node token_server.mjs PORT_FILE");
  process.exit(2);
}

const stats = { token_calls: 0, rotations: 0, spent_presented: 0, revocations: 0, unknown_presented: 0 };
let current = null; // { access, refresh } of the live grant, or null when revoked / none
const spent = new Set();

// Shaped like Anthropic's OAuth tokens (the proof's profile is an Anthropic login): keyward's
// pre-flight refuses an Anthropic access token without sk-ant-oat01- as OpenClaw's would not.
const token = (kind) =>
  `sk-ant-${kind === "access" ? "oat01" : "ort01"}-${kind}-${randomBytes(24).toString("hex")}`;

function send(res, status, body, delayMs = 0) {
  if (delayMs > 0) return void setTimeout(() => send(res, status, body), delayMs);
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function parseBody(req, raw) {
  const type = req.headers["content-type"] ?? "";
  if (type.includes("application/json")) {
    try {
      return JSON.parse(raw);
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(raw));
}

const server = http.createServer((req, res) => {
  let raw = "";
  req.setEncoding("utf8");
  req.on("data", (chunk) => (raw += chunk));
  req.on("end", () => {
    const url = new URL(req.url, "http://127.0.0.1");
    if (req.method === "POST" && url.pathname === "/login") {
      if (current) spent.add(current.refresh);
      current = { access: token("access"), refresh: token("refresh") };
      return send(res, 200, current);
    }
    if (req.method === "POST" && url.pathname === "/v1/oauth/token") {
      stats.token_calls += 1;
      const delayMs = Math.floor(Math.random() * (maxDelayMs + 1));
      const body = parseBody(req, raw);
      const presented = typeof body.refresh_token === "string" ? body.refresh_token : "";
      if (body.grant_type !== "refresh_token") return send(res, 400, { error: "unsupported_grant_type" });
      if (current && presented === current.refresh) {
        spent.add(current.refresh);
        current = { access: token("access"), refresh: token("refresh") };
        stats.rotations += 1;
        return send(res, 200, {
          token_type: "Bearer",
          access_token: current.access,
          refresh_token: current.refresh,
          expires_in: 3600,
        }, delayMs);
      }
      if (spent.has(presented)) {
        stats.spent_presented += 1;
        if (current) {
          stats.revocations += 1;
          spent.add(current.refresh);
          current = null;
        }
        return send(res, 400, { error: "invalid_grant", error_description: "refresh token reused: grant revoked" }, delayMs);
      }
      stats.unknown_presented += 1;
      return send(res, 400, { error: "invalid_grant", error_description: "unknown refresh token" }, delayMs);
    }
    if (req.method === "GET" && url.pathname === "/stats") {
      const refresh_sha256 = current ? createHash("sha256").update(current.refresh).digest("hex") : null;
      return send(res, 200, { ...stats, refresh_sha256 });
    }
    if (req.method === "GET") {
      const auth = req.headers.authorization ?? "";
      const ok = current && auth === `Bearer ${current.access}`;
      return send(res, ok ? 200 : 401, ok ? { data: [] } : { error: "invalid_token" });
    }
    send(res, 404, { error: "not_found" });
  });
});

server.listen(0, "127.0.0.1", () => {
  writeFileSync(`${portFile}.tmp`, String(server.address().port));
  renameSync(`${portFile}.tmp`, portFile);
});
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
