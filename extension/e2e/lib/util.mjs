// Small process, port and waiting helpers shared by the e2e harness and the
// demo driver. Every wait here is a polled condition with a deadline, never a
// fixed sleep: browser tests must not depend on machine speed.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Default deadline for a condition, scaled by E2E_TIMEOUT_SCALE on slow machines. */
export const TIMEOUT_MS = Math.round(20_000 * Number(process.env.E2E_TIMEOUT_SCALE || 1));

const tick = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls fn until it returns a truthy value (which is returned) or the deadline
 * passes. Exceptions from fn count as "not yet" and the last one is reported.
 */
export async function waitFor(fn, { timeout = TIMEOUT_MS, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let lastErr;
  let lastValue;
  for (;;) {
    try {
      lastValue = await fn();
      if (lastValue) return lastValue;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      const detail = lastErr ? `: last error: ${lastErr.message}` : lastValue !== undefined ? `: last value: ${JSON.stringify(lastValue)}` : '';
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${detail}`);
    }
    await tick(interval);
  }
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Distinct free ports (the OS could hand the same one back twice). */
export async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/**
 * A stack of cleanup actions run in reverse order. Every process and temp dir
 * the harness creates is registered here, so a failing test still cleans up.
 */
export class Cleanup {
  #actions = [];
  add(what, fn) { this.#actions.push({ what, fn }); }
  async run() {
    const errors = [];
    while (this.#actions.length) {
      const { what, fn } = this.#actions.pop();
      try { await fn(); } catch (err) { errors.push(`${what}: ${err.message}`); }
    }
    if (errors.length) throw new Error(`cleanup failed: ${errors.join('; ')}`);
  }
}

/** Makes a temp dir removed by cleanup. */
export function tempDir(cleanup, prefix = 'rbutton-e2e-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanup.add(`remove ${dir}`, () => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 }));
  return dir;
}

// Children still alive when node exits (a crash, an uncaught error) are killed here.
const live = new Set();
process.on('exit', () => { for (const c of live) { try { c.kill('SIGKILL'); } catch { /* gone */ } } });

/**
 * Starts a long-running child. Output goes to logFile (kept for failure
 * reports). Returns {child, stop(), exited, log()}.
 */
export function startProcess(cmd, args, { env = process.env, cwd, logFile, cleanup, what = cmd } = {}) {
  const out = logFile ? fs.openSync(logFile, 'a') : 'ignore';
  const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', out, out] });
  if (logFile) fs.closeSync(out);
  live.add(child);
  let exitInfo = null;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    live.delete(child);
    exitInfo = { code, signal };
    resolve(exitInfo);
  }));
  child.once('error', (err) => { exitInfo = { code: -1, signal: null, error: err }; live.delete(child); });
  const proc = {
    child,
    exited,
    get exitInfo() { return exitInfo; },
    log: () => (logFile && fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''),
    async stop() {
      if (exitInfo) return;
      child.kill('SIGTERM');
      const done = await Promise.race([exited, tick(5000).then(() => null)]);
      if (!done) { child.kill('SIGKILL'); await exited; }
    },
  };
  cleanup?.add(`stop ${what}`, () => proc.stop());
  return proc;
}

/** Runs a command to completion; resolves {code, stdout, stderr}. */
export function run(cmd, args, { env = process.env, cwd, input, timeout = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    // Without input the child gets no stdin pipe at all: a command that exits
    // before reading a pipe would fail our write with EPIPE, an uncaught error.
    const stdin = input === undefined ? 'ignore' : 'pipe';
    const child = spawn(cmd, args, { env, cwd, stdio: [stdin, 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code: code ?? -1, signal, stdout, stderr }); });
    if (child.stdin) {
      // A child that exits without reading all of its input is its own result,
      // reported through its exit code, not an EPIPE that kills the test run.
      child.stdin.on('error', (err) => { if (err.code !== 'EPIPE') reject(err); });
      child.stdin.end(input);
    }
  });
}

/** GETs a URL on loopback; resolves {status, headers, body} or rejects. */
export async function httpGet(url, { headers } = {}) {
  const res = await fetch(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(5000) });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** Escapes a string for use inside a RegExp. */
export const esc = (s) => String(s).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
