// Helpers for driving the real Ferry binary in the test session.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { remote } from "webdriverio";

export const DRIVER_PORT = 4444;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const FERRY_BIN = process.env.FERRY_BIN ?? join(ROOT, "target/debug/ferry");
export const SANDBOX_BIN = process.env.FERRY_SANDBOX_BIN ?? join(ROOT, "target/debug/ferry-sandbox");
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

/** The output lines of a search command (pgrep, xdotool search), which exits 1 on no match. */
function matchingLines(command: string, args: string[]): string[] {
  try {
    return execFileSync(command, args, { encoding: "utf8" }).split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/** PIDs of running Ferry processes started from the binary under test. */
export function ferryPids(): number[] {
  return matchingLines("pgrep", ["-f", `^${FERRY_BIN}`]).map(Number);
}

/**
 * Ends the WebDriver session and waits until that Ferry has exited. Until it has, it
 * still holds the single-instance lock, and the next launch would hand over to it.
 */
export async function quit(browser: Browser | undefined): Promise<void> {
  await browser?.deleteSession().catch(() => undefined);
  // A Ferry whose window a test closed lives on in the tray: ask it to quit.
  if (!(await waitUntil(() => ferryPids().length === 0, 5_000))) {
    ferryPids().forEach((pid) => { try { process.kill(pid, "SIGTERM"); } catch { /* gone */ } });
  }
  if (!(await waitUntil(() => ferryPids().length === 0, 15_000))) {
    throw new Error(`Ferry still running: ${ferryPids().join(", ")}`);
  }
}

/** Polls `check` every 50 ms; true once it holds, false after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Ids of the visible top-level X windows titled "Ferry". */
export function ferryWindowIds(): string[] {
  return matchingLines("xdotool", ["search", "--onlyvisible", "--name", "^Ferry$"]);
}

export function visibleFerryWindows(): number {
  return ferryWindowIds().length;
}

/** Starts Ferry directly (not through WebDriver), e.g. hidden in the tray. */
export function spawnFerry(args: string[]): ChildProcess {
  return spawn(FERRY_BIN, args, { stdio: "ignore" });
}

/** Sends SIGTERM and resolves with the exit code. */
export function terminate(child: ChildProcess): Promise<number | null> {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null) {
      resolvePromise(child.exitCode);
      return;
    }
    child.once("exit", (code) => { resolvePromise(code); });
    child.kill("SIGTERM");
  });
}

export function byTestId(browser: Browser, id: string) {
  return browser.$(`[data-testid="${id}"]`);
}

/**
 * Saves a PNG of the Ferry window as the X server shows it (ImageMagick's `import`).
 * WebDriver's own screenshot needs WebKit's GPU compositing, which Ferry turns off.
 */
export async function screenshot(browser: Browser, name: string): Promise<string> {
  mkdirSync(SHOTS_DIR, { recursive: true });
  // Let the webview paint what the DOM already holds.
  await browser.executeAsync((done: () => void) => {
    requestAnimationFrame(() => requestAnimationFrame(() => { done(); }));
  });
  const [windowId] = ferryWindowIds();
  if (windowId === undefined) throw new Error("no visible Ferry window to capture");
  const path = join(SHOTS_DIR, `${name}.png`);
  execFileSync("import", ["-window", windowId, path]);
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
