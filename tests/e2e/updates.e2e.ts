// Signed updates in the real window: a local server plays the update endpoint. A newer
// version signed with the trusted key is downloaded, verified and offered; a tampered
// package, or one signed with another key, is refused with a clear message, nothing is
// installed, and the running Ferry keeps working.
import { execFileSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withOwnFerry } from "./driver";
import { byTestId, DRIVER_PORT, logText, screenshot } from "./ferry";

const TAURI_CLI = resolve(import.meta.dirname, "../../node_modules/.bin/tauri");
const NEW_VERSION = "9.9.9";

interface Keys {
  privatePath: string;
  publicKey: string;
}

const dir = mkdtempSync(join(tmpdir(), "ferry-updates-"));

/** A minisign key pair from Tauri's own signer, without a password. */
function keyPair(name: string): Keys {
  const privatePath = join(dir, `${name}.key`);
  execFileSync(TAURI_CLI, ["signer", "generate", "--ci", "-p", "", "-w", privatePath], { stdio: "ignore" });
  return { privatePath, publicKey: readFileSync(`${privatePath}.pub`, "utf8").trim() };
}

/** Signs `file` with `keys`; returns the signature as the update manifest carries it. */
function sign(file: string, keys: Keys): string {
  execFileSync(TAURI_CLI, ["signer", "sign", "-f", keys.privatePath, "-p", "", file], { stdio: "ignore" });
  return readFileSync(`${file}.sig`, "utf8").trim();
}

type Scenario = "good" | "tampered" | "wrong-key";
let scenario: Scenario = "good";
let server: Server | undefined;
let base = "";
let trusted: Keys;
const packages: Record<Scenario, { bytes: Buffer; signature: string }> = {} as never;

beforeAll(async () => {
  trusted = keyPair("trusted");
  const stranger = keyPair("stranger");
  const genuine = join(dir, "Ferry_9.9.9_amd64.AppImage");
  writeFileSync(genuine, Buffer.alloc(256 * 1024, 7));
  const signature = sign(genuine, trusted);
  const tampered = Buffer.from(readFileSync(genuine));
  tampered.writeUInt8(tampered.readUInt8(1000) ^ 0xff, 1000);
  const other = join(dir, "other.AppImage");
  writeFileSync(other, readFileSync(genuine));
  packages.good = { bytes: readFileSync(genuine), signature };
  packages.tampered = { bytes: tampered, signature };
  packages["wrong-key"] = { bytes: readFileSync(genuine), signature: sign(other, stranger) };

  server = createServer((request, response) => {
    const current = packages[scenario];
    if (request.url === "/latest.json") {
      const platform = { url: `${base}/package`, signature: current.signature };
      response.setHeader("content-type", "application/json");
      response.end(
        JSON.stringify({
          version: NEW_VERSION,
          notes: "Faster sync.",
          pub_date: "2026-11-30T00:00:00Z",
          platforms: { "linux-x86_64": platform, "linux-x86_64-appimage": platform },
        }),
      );
    } else if (request.url === "/package") {
      response.setHeader("content-type", "application/octet-stream");
      response.end(current.bytes);
    } else {
      response.statusCode = 404;
      response.end();
    }
  });
  await new Promise<void>((ready) => server?.listen(0, "127.0.0.1", ready));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no server address");
  base = `http://127.0.0.1:${String(address.port)}`;
});

afterAll(async () => {
  await new Promise((done) => server?.close(done));
});

describe("Signed updates", () => {
  it("offers a verified update, refuses tampered or foreign ones, and keeps the running version", async () => {
    const env = { FERRY_UPDATE_ENDPOINT: `${base}/latest.json`, FERRY_UPDATE_PUBKEY: trusted.publicKey };
    await withOwnFerry(DRIVER_PORT + 4, env, async (b) => {
      await byTestId(b, "open-settings").click();
      const status = byTestId(b, "update-status");
      const checkAndWait = async (expected: string) => {
        await byTestId(b, "check-updates").click();
        await b.waitUntil(async () => (await status.getText()).includes(expected), {
          timeout: 20_000,
          timeoutMsg: `update status never said "${expected}"`,
        });
      };

      scenario = "good";
      await checkAndWait(`Ferry ${NEW_VERSION} is downloaded and verified`);
      await screenshot(b, "settings-update-ready");
      await b.keys(["Escape"]);
      const ready = byTestId(b, "update-ready");
      await ready.waitForDisplayed();
      expect(await byTestId(b, "update-install").isDisplayed()).toBe(true);
      await screenshot(b, "accounts-update-ready");

      scenario = "tampered";
      await byTestId(b, "open-settings").click();
      await checkAndWait("its signature does not match");
      expect(await status.getText()).toContain("You are still on Ferry 0.1.0");

      scenario = "wrong-key";
      await checkAndWait("its signature does not match");
      await b.keys(["Escape"]);
      const refused = byTestId(b, "update-failed");
      await refused.waitForDisplayed();
      await screenshot(b, "accounts-update-refused");

      // Still the running version, still working: the window answers and nothing installed.
      const info = await b.execute(() => document.title);
      expect(info).toBe("Ferry");
      expect(await byTestId(b, "accounts-screen").isDisplayed()).toBe(true);
      const log = logText();
      expect(log).toContain("update downloaded and its signature verified");
      expect(log.match(/update refused: its signature does not verify/g)?.length).toBe(2);
      expect(log).not.toContain("update installed");
    });
  });
});
