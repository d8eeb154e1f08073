// Starts tauri-driver (which starts WebKitWebDriver) for the whole e2e run.
import { spawn, type ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { DRIVER_PORT } from "./ferry";

let driver: ChildProcess | undefined;

export async function setup() {
  if (process.env.FERRY_IN_SESSION !== "1") {
    throw new Error("e2e tests need the headless test session: run `make test`");
  }
  driver = spawn("tauri-driver", ["--port", String(DRIVER_PORT)], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${DRIVER_PORT}/status`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error("tauri-driver did not start within 20 s");
}

export function teardown() {
  driver?.kill();
}
