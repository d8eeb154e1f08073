// The e2e run's setup: the provider sandbox for the whole run, and tauri-driver (which
// starts WebKitWebDriver) for each test file.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { mkdirSync } from "node:fs";
import { BROWSER_BIN, BROWSER_DIR, DRIVER_PORT, launchReady, quit, SANDBOX_BIN, type Browser } from "./ferry";

let driver: ChildProcess | undefined;
let sandbox: ChildProcess | undefined;

interface SandboxUrls {
  google: string;
  microsoft: string;
  control: string;
}

/** Starts the provider sandbox; Ferry reaches it only through these variables. */
async function startSandbox(): Promise<SandboxUrls> {
  sandbox = spawn(SANDBOX_BIN, [], { stdio: ["ignore", "pipe", "inherit"] });
  const stdout = sandbox.stdout;
  if (stdout === null) throw new Error("no sandbox stdout");
  const lines = createInterface({ input: stdout });
  const first = await Promise.race([
    new Promise<string>((resolve) => lines.once("line", resolve)),
    sleep(20_000).then(() => { throw new Error("the sandbox did not start within 20 s"); }),
  ]);
  return JSON.parse(first) as SandboxUrls;
}

export async function setup() {
  if (process.env.FERRY_IN_SESSION !== "1") {
    throw new Error("e2e tests need the headless test session: run `make test`");
  }
  const urls = await startSandbox();
  process.env.FERRY_SANDBOX_GOOGLE_URL = urls.google;
  process.env.FERRY_SANDBOX_MICROSOFT_URL = urls.microsoft;
  process.env.FERRY_SANDBOX_CONTROL_URL = urls.control;
  // The "web browser" xdg-open hands sign-in pages to: a scripted person (see
  // crates/ferry-sandbox/src/bin/ferry-sandbox-browser.rs).
  mkdirSync(BROWSER_DIR, { recursive: true });
  process.env.BROWSER = BROWSER_BIN;
  process.env.FERRY_SANDBOX_BROWSER_DIR = BROWSER_DIR;
  // A Ferry under WebDriver must stay the process the driver started, so it does not
  // restart itself in the tray after its window closes; tray.e2e.ts tests that restart
  // with a Ferry of its own.
  process.env.FERRY_SLIM_AFTER_MS = "off";
  // Each test file starts its own tauri-driver (perfile.ts): a driver left broken by
  // one file cannot fail the files after it.
}

/** Starts the file's tauri-driver on [`DRIVER_PORT`]; Ferry inherits the environment. */
export async function startFileDriver(): Promise<void> {
  driver = await startDriver(DRIVER_PORT, DRIVER_PORT + 1, process.env);
}

/** Stops the file's tauri-driver (and its WebKitWebDriver) and waits until it is gone. */
export async function stopFileDriver(): Promise<void> {
  const child = driver;
  driver = undefined;
  if (child === undefined || child.exitCode !== null) return;
  const exited = new Promise((done) => child.once("exit", done));
  child.kill();
  await exited;
}

/**
 * Starts a tauri-driver on `port` (its WebKitWebDriver on `nativePort`); every Ferry it
 * launches gets `env`. Tests that need Ferry started with a variable of its own (a
 * failpoint) start a second one.
 */
export async function startDriver(port: number, nativePort: number, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn("tauri-driver", ["--port", String(port), "--native-port", String(nativePort)], {
    stdio: ["ignore", "inherit", "inherit"],
    env,
  });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${String(port)}/status`);
      if (response.ok) return child;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  child.kill();
  throw new Error(`tauri-driver did not start on port ${String(port)} within 20 s`);
}

/**
 * Runs `body` against a Ferry that a tauri-driver of its own (on `port`) launches with
 * `env` added to its environment (a failpoint, an update endpoint, a theme), once its
 * Accounts screen is up; then quits that Ferry and stops the driver, whatever happened.
 */
export async function withOwnFerry(
  port: number,
  env: Record<string, string>,
  body: (b: Browser) => Promise<void>,
): Promise<void> {
  const driver = await startDriver(port, port + 1, { ...process.env, ...env });
  let b: Browser | undefined;
  try {
    b = await launchReady([], port);
    await body(b);
  } finally {
    await quit(b);
    const exited = new Promise((done) => driver.once("exit", done));
    driver.kill();
    await exited;
  }
}

export function teardown() {
  sandbox?.kill();
}
