#!/usr/bin/env node
// The npm registry mirror of our build machines serves only the packages of its own platform,
// so `npm install` leaves other platforms' optional binaries (duckdb's, jest's resolver's) out
// of package-lock.json, and `npm ci` then refuses the lock as out of sync. This adds each
// missing optional dependency with the os/cpu/libc its name states, which is what npm itself
// records, so that `npm ci` skips it on every other platform. Only needed where a registry mirror
// serves a single platform: run it after `npm install` there if `npm ci` then refuses the lock.
// (With the public registry, `npm install` records every platform itself and this adds nothing.)
const { readFileSync, writeFileSync } = require('node:fs');

const file = 'package-lock.json';
const lock = JSON.parse(readFileSync(file, 'utf8'));
const OS = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openharmony', 'sunos', 'aix'];
let added = 0;

for (const pkg of Object.values(lock.packages)) {
  for (const [name, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key]) continue;
    const parts = name.split('/').pop().split('-');
    const at = parts.findIndex((p) => OS.includes(p));
    if (at < 0) continue; // not a platform binary: npm records those itself
    const [os, cpu, abi] = parts.slice(at);
    const entry = { version, cpu: [cpu], os: [os], optional: true };
    if (abi?.startsWith('musl')) entry.libc = ['musl'];
    else if (abi?.startsWith('gnu')) entry.libc = ['glibc'];
    lock.packages[key] = entry;
    added++;
  }
}

const [root, ...rest] = Object.entries(lock.packages);
lock.packages = Object.fromEntries([root, ...rest.sort(([a], [b]) => a.localeCompare(b))]);
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform package(s)`);
