// Helpers for driving the real Ferry binary in the test session.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { remote } from "webdriverio";
import { afterAll, afterEach } from "vitest";
import { assertAccessible } from "./a11y";

export const DRIVER_PORT = 4444;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const FERRY_BIN = process.env.FERRY_BIN ?? join(ROOT, "target/debug/ferry");
export const SANDBOX_BIN = process.env.FERRY_SANDBOX_BIN ?? join(ROOT, "target/debug/ferry-sandbox");
export const BROWSER_BIN = process.env.FERRY_BROWSER_BIN ?? join(ROOT, "target/debug/ferry-sandbox-browser");
/** Screenshots land here; the README points at it. */
export const SHOTS_DIR = join(ROOT, "target/e2e");
/** Where the scripted browser reads who it is and leaves `ferry://` links. */
export const BROWSER_DIR = join(SHOTS_DIR, "browser");
/** The test profile's identifier (see crates/ferry-core/src/profile.rs). */
export const TEST_IDENTIFIER = "dev.ferry.desktop.test";

function xdgDataHome(): string {
  const home = process.env.HOME ?? "";
  return process.env.XDG_DATA_HOME ?? join(home, ".local/share");
}

export const DATA_DIR = join(xdgDataHome(), TEST_IDENTIFIER);
export const LOG_DIR = join(DATA_DIR, "logs");
export const DATABASE = join(DATA_DIR, "ferry.sqlite3");

export type Browser = WebdriverIO.Browser;

/**
 * One Ferry per test: whatever the holder's `browser` is, it is quit after each test, and
 * the file's accounts are forgotten after its last test.
 */
export function oneFerryPerTest(): { browser?: Browser } {
  const holder: { browser?: Browser } = {};
  afterEach(async () => {
    await quit(holder.browser);
    holder.browser = undefined;
  });
  afterAll(() => {
    forgetAccounts();
  });
  return holder;
}

/** Deletes the test profile's database, so the next file starts with no accounts. */
export function forgetAccounts(): void {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(join(DATA_DIR, `ferry.sqlite3${suffix}`), { force: true });
}

/** Starts Ferry through tauri-driver (the one on `port`). */
export async function launch(args: string[] = [], port = DRIVER_PORT): Promise<Browser> {
  // A Ferry an earlier test left running would take this launch over (single instance).
  const strays = ferryPids();
  if (strays.length > 0) {
    console.warn(`killing a Ferry an earlier test left running: ${strays.join(", ")}`);
    signalFerrys("SIGKILL");
    await waitUntil(ferryGone, 5_000);
  }
  return remote({
    hostname: "127.0.0.1",
    port,
    logLevel: "warn",
    capabilities: {
      browserName: "wry",
      "wdio:enforceWebDriverClassic": true,
      "tauri:options": { application: FERRY_BIN, args },
    } as WebdriverIO.Capabilities,
  });
}

/** Starts Ferry through tauri-driver (the one on `port`) and waits for its Accounts screen. */
export async function launchReady(args: string[] = [], port = DRIVER_PORT): Promise<Browser> {
  const b = await launch(args, port);
  // With an account that brings mail Ferry opens on the inbox; these tests start on Accounts.
  await byTestId(b, "app-nav").waitForDisplayed({ timeout: 20_000 });
  await showSection(b, "accounts");
  return b;
}

/** Dismisses the toasts on screen (they sit over the window's lower right corner). */
export async function dismissNotices(b: Browser): Promise<void> {
  for (const dismiss of await b.$$('[data-testid="notice-dismiss"]')) {
    if (await dismiss.isDisplayed()) await dismiss.click();
  }
}

/** Switches to a section (Inbox, Accounts or Status) and waits for its screen. */
export async function showSection(b: Browser, section: "inbox" | "accounts" | "status"): Promise<void> {
  await byTestId(b, `nav-${section}`).click();
  await byTestId(b, `${section}-screen`).waitForDisplayed({ timeout: 20_000 });
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
  // Not the sandbox binaries, whose paths start the same way.
  return matchingLines("pgrep", ["-f", `^${FERRY_BIN}( |$)`]).map(Number);
}

/** The test profile's single-instance lock: a D-Bus name on the session bus. */
const INSTANCE_NAME = `${TEST_IDENTIFIER}.SingleInstance`;

/**
 * No Ferry of the binary under test runs, and none holds the single-instance lock. A
 * process leaves the process list a moment before the bus lets go of its name; a Ferry
 * started in between would find the name taken by a Ferry that no longer answers.
 */
export function ferryGone(): boolean {
  if (ferryPids().length > 0) return false;
  const owned = matchingLines("dbus-send", [
    "--session",
    "--print-reply",
    "--dest=org.freedesktop.DBus",
    "/org/freedesktop/DBus",
    "org.freedesktop.DBus.NameHasOwner",
    `string:${INSTANCE_NAME}`,
  ]);
  return !owned.some((line) => line.includes("boolean true"));
}

/**
 * Ends the WebDriver session and waits until that Ferry has exited. Until it has, it
 * still holds the single-instance lock, and the next launch would hand over to it.
 */
export async function quit(browser: Browser | undefined): Promise<void> {
  await browser?.deleteSession().catch((err: unknown) => {
    // The driver still counts a session it could not end, and refuses the next one.
    console.warn(`ending the WebDriver session failed: ${String(err)}`);
  });
  // A Ferry whose window a test closed lives on in the tray: ask it to quit.
  if (!(await waitUntil(ferryGone, 5_000))) {
    signalFerrys("SIGTERM");
  }
  if (!(await waitUntil(ferryGone, 15_000))) {
    const stuck = ferryPids().join(", ");
    // The test fails, but the next one still starts with no Ferry running (a Ferry left
    // behind would take over every later launch through the single-instance lock).
    signalFerrys("SIGKILL");
    await waitUntil(ferryGone, 5_000);
    throw new Error(`Ferry did not quit within 20 s of the session's end, and was killed: ${stuck}`);
  }
}

function signalFerrys(signal: NodeJS.Signals): void {
  for (const pid of ferryPids()) {
    try { process.kill(pid, signal); } catch { /* gone already */ }
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
export function spawnFerry(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(FERRY_BIN, args, { stdio: "ignore", env: { ...process.env, ...env } });
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
 * Every state worth a screenshot is also checked for accessibility (a11y.ts): a WCAG 2.1
 * A or AA violation fails the test.
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
  await assertAccessible(browser, name, SHOTS_DIR);
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

/** Who the scripted browser is when Ferry next opens a sign-in page, and what they do. */
export interface Person {
  email: string;
  password: string;
  untick?: string[];
  allow?: boolean;
  abandon?: boolean;
  tamper_state?: boolean;
}

export function browseAs(person: Person): void {
  mkdirSync(BROWSER_DIR, { recursive: true });
  rmSync(join(BROWSER_DIR, "link.txt"), { force: true });
  writeFileSync(join(BROWSER_DIR, "person.json"), JSON.stringify(person));
}

/** The `ferry://` URL the browser was sent back to, once it has been. */
export async function browserLink(timeoutMs = 15_000): Promise<string> {
  const path = join(BROWSER_DIR, "link.txt");
  if (!(await waitUntil(() => existsSync(path), timeoutMs))) {
    throw new Error(`the browser was not sent to a ferry:// link; visits:\n${JSON.stringify(browserVisits())}`);
  }
  return readFileSync(path, "utf8");
}

export interface Visit {
  at_ms: number;
  visit: { outcome: string; to?: string; status?: number; sent_at_ms?: number; error?: string; name?: string; bytes?: number };
}

export function browserVisits(): Visit[] {
  const path = join(BROWSER_DIR, "visits.jsonl");
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Visit);
}

/** GET on the sandbox's control API. */
export async function sandbox<T>(path: string): Promise<T> {
  const base = process.env.FERRY_SANDBOX_CONTROL_URL;
  if (base === undefined) throw new Error("the sandbox is not running");
  const response = await fetch(`${base}${path}`);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return (await response.json()) as T;
}

/** POST on the sandbox's control API. */
export async function sandboxPost(path: string, body: unknown = {}): Promise<void> {
  const base = process.env.FERRY_SANDBOX_CONTROL_URL;
  if (base === undefined) throw new Error("the sandbox is not running");
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
}

/** Withdraws every grant a sandbox user gave, as they would on their account page. */
export async function revokeAtProvider(email: string): Promise<void> {
  const users = await sandbox<{ id: string; email: string }[]>("/users");
  const user = users.find((u) => u.email === email);
  if (user === undefined) throw new Error(`no sandbox user ${email}`);
  await sandboxPost(`/users/${user.id}/revoke`);
}

/** What the notification server (dunst) has on screen now. */
export function notificationsDisplayed(): number {
  return Number(execFileSync("dunstctl", ["count", "displayed"], { encoding: "utf8" }).trim());
}

/**
 * Every notification sent to the notification server, and every withdrawal, as seen on
 * the session bus (dbus-monitor): what a desktop's notification daemon receives.
 */
export class NotificationWatch {
  readonly shown: string[] = [];
  closed = 0;
  private readonly monitor: ChildProcess;

  private constructor(monitor: ChildProcess) {
    this.monitor = monitor;
  }

  static async start(): Promise<NotificationWatch> {
    // Line-buffered: into a pipe, dbus-monitor would otherwise hold messages back.
    const monitor = spawn("stdbuf", [
      "-oL",
      "dbus-monitor",
      "--session",
      "type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
      "type='method_call',interface='org.freedesktop.Notifications',member='CloseNotification'",
    ]);
    const watch = new NotificationWatch(monitor);
    let strings: string[] | null = null;
    let buffer = "";
    monitor.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        if (line.startsWith("method call")) {
          if (line.includes("member=Notify")) strings = [];
          else {
            strings = null;
            if (line.includes("member=CloseNotification")) watch.closed += 1;
          }
          continue;
        }
        const text = /^\s+string "(.*)"$/.exec(line);
        if (strings !== null && text !== null) {
          strings.push(text[1] ?? "");
          // app name, icon, summary: the summary is the third string.
          if (strings.length === 3) watch.shown.push(strings[2] ?? "");
        }
      }
    });
    // dbus-monitor prints nothing until it is listening; give it a moment to attach.
    await new Promise((r) => setTimeout(r, 500));
    return watch;
  }

  stop(): void {
    this.monitor.kill();
  }
}

/** A PNG of the whole screen: the Ferry window and any notification dunst shows. */
export function screenshotScreen(name: string): string {
  mkdirSync(SHOTS_DIR, { recursive: true });
  const path = join(SHOTS_DIR, `${name}.png`);
  execFileSync("import", ["-window", "root", path]);
  return path;
}

/** One query on Ferry's database file, with the sqlite3 shell (read-only). */
export function sql(query: string): string {
  return execFileSync("sqlite3", ["-readonly", DATABASE, query], { encoding: "utf8" }).trim();
}

/** The database, its WAL and shared-memory files, as Ferry left them on disk. */
export function databaseBytes(): Buffer {
  return Buffer.concat(
    ["", "-wal", "-shm"]
      .map((suffix) => `${DATABASE}${suffix}`)
      .filter((path) => existsSync(path))
      .map((path) => readFileSync(path)),
  );
}

/** Keychain items in the test profile's namespace (Secret Service attribute `service`). */
export function keychainItems(): number {
  const out = execFileSync(
    "gdbus",
    [
      "call", "--session", "--dest", "org.freedesktop.secrets",
      "--object-path", "/org/freedesktop/secrets",
      "--method", "org.freedesktop.Secret.Service.SearchItems",
      `{'service': '${TEST_IDENTIFIER}'}`,
    ],
    { encoding: "utf8" },
  );
  // ([unlocked paths], [locked paths])
  return (out.match(/'\/org\/freedesktop\/secrets\/collection\//g) ?? []).length;
}

/**
 * Records every message the backend delivers to this window from now on: command
 * results and events. Everything the UI knows arrives this way, so a secret that is in
 * none of these messages never crossed IPC. Listeners registered before this call are
 * wrapped too.
 */
export async function traceIpc(browser: Browser): Promise<void> {
  await browser.execute(() => {
    type Callback = (data: unknown) => unknown;
    const w = window as unknown as {
      __TAURI_INTERNALS__: { callbacks: Map<number, Callback> };
      __ferryIpc?: string[];
    };
    const log: string[] = (w.__ferryIpc = []);
    const callbacks = w.__TAURI_INTERNALS__.callbacks;
    const wrap = (fn: Callback): Callback => (data) => {
      log.push(JSON.stringify(data) ?? "");
      return fn(data);
    };
    for (const [id, fn] of callbacks) Map.prototype.set.call(callbacks, id, wrap(fn));
    callbacks.set = function (id: number, fn: Callback) {
      return Map.prototype.set.call(this, id, wrap(fn)) as Map<number, Callback>;
    };
  });
}

/** The IPC messages recorded since `traceIpc`. */
export async function tracedIpc(browser: Browser): Promise<string[]> {
  return browser.execute(() => (window as unknown as { __ferryIpc?: string[] }).__ferryIpc ?? []);
}
