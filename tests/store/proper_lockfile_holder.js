// The other side of tests/store/seed_lock_seam_test.cpp: updates a credentials file the way
// OpenClaw did before 2026-02-13, under npm proper-lockfile 4.1.2's lock on it (a directory
// `<file>.lock`, with OpenClaw's options). Each round locks, re-reads the file, holds the lock for
// a while, checks that nobody wrote the file meanwhile, counts the round in
// `usageStats["node:rounds"]`, writes the file back (in place, as OpenClaw did) and unlocks.
//
//   node proper_lockfile_holder.js NODE_MODULES FILE ROUNDS HOLD_MS GAP_MS READY_FILE
//
// Writes READY_FILE once the first lock is held. Exits 0 when every round went through, 3 on an
// error (ELOCKED: the lock path was taken by someone else), 4 when proper-lockfile reports its
// lock compromised (its directory removed or replaced), 5 when the file changed while locked.
'use strict';
const fs = require('fs');
const path = require('path');

const [modules, file, rounds, holdMs, gapMs, ready] = process.argv.slice(2);
const lockfile = require(path.join(modules, 'proper-lockfile'));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

(async () => {
  for (let round = 1; round <= Number(rounds); round++) {
    const release = await lockfile.lock(file, {
      stale: 30000,  // OpenClaw's AUTH_STORE_LOCK_OPTIONS
      retries: 0,    // nobody else takes this lock here: keyward must never hold it
      onCompromised: (error) => {
        console.error(`round ${round}: lock compromised: ${error.message}`);
        process.exit(4);
      },
    });
    const before = fs.readFileSync(file, 'utf8');
    if (round === 1) fs.writeFileSync(ready, 'locked\n');
    await sleep(Number(holdMs));
    if (fs.readFileSync(file, 'utf8') !== before) {
      console.error(`round ${round}: ${file} changed while proper-lockfile's lock was held`);
      process.exit(5);
    }
    if (!fs.statSync(`${file}.lock`).isDirectory()) {
      console.error(`round ${round}: ${file}.lock is no longer a directory`);
      process.exit(4);
    }
    const store = JSON.parse(before);
    store.usageStats = store.usageStats || {};
    store.usageStats['node:rounds'] = round;
    fs.writeFileSync(file, `${JSON.stringify(store, null, 2)}\n`);
    fs.chmodSync(file, 0o600);
    await release();
    await sleep(Number(gapMs));
  }
  process.exit(0);
})().catch((error) => {
  console.error(error.message);
  process.exit(3);
});
