// Helpers for driving the real Ferry binary in the test session.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { remote } from "webdriverio";

export const DRIVER_PORT = 4444;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const FERRY_BIN = process.env.FERRY_BIN ?? join(ROOT, "target/debug/ferry");
/** Screenshots land here; the README points at it. */
export const SHOTS_DIR = join(ROOT, "target/e2e");
/** The test profile's identifier (see crates/ferry-core/src/profile.rs). */
export const TEST_IDENTIFIER = "dev.ferry.desktop.test";

function xdgDataHome(): string {
  const home = process.env.HOME ?? "";
  return process.env.XDG_DATA_HOME ?? join(home, ".local/share");
}

export const DATA_DIR = join(xdgDataHome(), TEST_IDENTIFIER);
export const LOG_DIR = join(DATA_DIR, "logs");

export type Browser = WebdriverIO.Browser;

/** Starts Ferry through tauri-driver and waits for its first screen. */
export async function launch(args: string[] = []): Promise<Browser> {
  return remote({
    hostname: "127.0.0.1",
    port: DRIVER_PORT,
    logLevel: "warn",
    capabilities: {
      browserName: "wry",
      "wdio:enforceWebDriverClassic": true,
      "tauri:options": { application: FERRY_BIN, args },
    } as WebdriverIO.Capabilities,
  });
}

/** PIDs of running Ferry processes started from the binary under test. */
export function ferryPids(): number[] {
  try {
    return execFileSync("pgrep", ["-f", `^${FERRY_BIN}`], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/**
 * Ends the WebDriver session and waits until that Ferry has exited. Until it has, it
 * still holds the single-instance lock, and the next launch would hand over to it.
 */
export async function quit(browser: Browser | undefined): Promise<void> {
  await browser?.deleteSession().catch(() => undefined);
  const deadline = Date.now() + 15_000;
  while (ferryPids().length > 0) {
    if (Date.now() > deadline) throw new Error(`Ferry still running: ${ferryPids().join(", ")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function byTestId(browser: Browser, id: string) {
  return browser.$(`[data-testid="${id}"]`);
}

export async function screenshot(browser: Browser, name: string): Promise<string> {
  mkdirSync(SHOTS_DIR, { recursive: true });
  // Let the webview paint what the DOM already holds.
  await browser.executeAsync((done: () => void) => {
    requestAnimationFrame(() => requestAnimationFrame(() => { done(); }));
  });
  const path = join(SHOTS_DIR, `${name}.png`);
  await browser.saveScreenshot(path);
  return path;
}

export interface Exit {
  code: number | null;
  millis: number;
  output: string;
}

/** Runs a second `ferry` process with the given arguments, as the OS would for a link. */
export function runSecondInstance(args: string[], timeoutMs = 15_000): Promise<Exit> {
  return new Promise((resolvePromise, reject) => {
    const started = Date.now();
    const child = spawn(FERRY_BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`second instance still running after ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, millis: Date.now() - started, output });
    });
  });
}

/** Everything Ferry has logged in this session so far. */
export function logText(): string {
  let files: string[];
  try {
    files = readdirSync(LOG_DIR).filter((f) => f.endsWith(".log")).sort();
  } catch {
    return "";
  }
  return files.map((f) => readFileSync(join(LOG_DIR, f), "utf8")).join("\n");
}
