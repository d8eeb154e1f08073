// The tray as drawn by a real panel: trayer, an X11 system tray. With no
// StatusNotifierWatcher on the bus, Ferry's tray (libayatana-appindicator) falls back to
// an X11 tray icon, which trayer embeds; right-clicking it opens the real GTK menu. This
// is what the attention state looks like on screen.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount, healthOf } from "./accounts";
import {
  byTestId,
  forgetAccounts,
  launch,
  quit,
  revokeAtProvider,
  screenshotScreen,
  SHOTS_DIR,
  waitUntil,
  type Browser,
} from "./ferry";

const ICON = 32;
let panel: ChildProcess;
let browser: Browser | undefined;

beforeAll(async () => {
  panel = spawn("trayer", [
    "--edge", "top", "--align", "right", "--widthtype", "pixel", "--width", String(ICON),
    "--heighttype", "pixel", "--height", String(ICON), "--SetDockType", "true",
    "--transparent", "false", "--tint", "0xdddddd",
  ], { stdio: "ignore" });
  await sleep(500);
});

afterAll(async () => {
  await quit(browser);
  panel.kill();
  forgetAccounts();
});

function screenWidth(): number {
  return Number(execFileSync("xdotool", ["getdisplaygeometry"], { encoding: "utf8" }).split(" ")[0]);
}

/** Pixels of Ferry's attention red in the tray icon's square at the screen's top right. */
function redInTrayIcon(name: string): number {
  const shot = screenshotScreen(name);
  const out = execFileSync(
    "convert",
    [
      shot, "-crop", `${String(ICON)}x${String(ICON)}+${String(screenWidth() - ICON)}+0`, "+repage",
      "-fuzz", "15%", "-fill", "black", "+opaque", "#d93025", "-fill", "white", "-opaque", "#d93025",
      "-format", "%[fx:mean*w*h]", "info:",
    ],
    { encoding: "utf8" },
  );
  return Math.round(Number(out));
}

/** The screen area under the tray icon, where its menu opens. */
function underTheIcon(name: string): string {
  const shot = screenshotScreen(name);
  const out = join(SHOTS_DIR, `${name}-area.png`);
  execFileSync("convert", [shot, "-crop", `200x120+${String(screenWidth() - 210)}+${String(ICON)}`, "+repage", out]);
  return out;
}

/** How many pixels differ between two images of the same size. */
function pixelsChanged(a: string, b: string): number {
  try {
    execFileSync("compare", ["-metric", "AE", a, b, "null:"], { encoding: "utf8", stdio: "pipe" });
    return 0;
  } catch (err) {
    // compare exits 1 when the images differ and prints the count on stderr.
    return Number(String((err as { stderr?: string }).stderr ?? "").trim().split(" ")[0]);
  }
}

describe("the tray in a real panel", () => {
  it("turns red and lists Reconnect when an account needs sign-in", async () => {
    browser = await launch();
    const b = browser;
    await byTestId(b, "accounts-screen").waitForDisplayed({ timeout: 20_000 });
    await addAccount(b, "google", { email: "grace@example.org", password: "grace" }, {
      mail: true,
      calendar: false,
      contacts: false,
    });
    await sleep(500);
    expect(redInTrayIcon("tray-calm"), "a calm icon has no red dot").toBe(0);

    await revokeAtProvider("grace@example.org");
    await byTestId(b, "sync-now").click();
    await waitUntil(async () => (await healthOf(b, "grace@example.org")) === "needsSignIn", 15_000);
    await sleep(1_000);
    expect(redInTrayIcon("tray-attention-icon"), "the red dot is drawn").toBeGreaterThan(10);

    const before = underTheIcon("tray-menu-closed");
    execFileSync("xdotool", ["mousemove", String(screenWidth() - ICON / 2), String(ICON / 2), "click", "3"]);
    await sleep(1_000);
    const after = underTheIcon("tray-menu-open");
    expect(pixelsChanged(before, after), "the menu opened under the icon").toBeGreaterThan(2_000);
    const shot = screenshotScreen("tray-menu-attention-full");
    execFileSync("convert", [
      shot, "-crop", `420x200+${String(screenWidth() - 420)}+0`, "+repage", join(SHOTS_DIR, "tray-menu-attention.png"),
    ]);
    execFileSync("xdotool", ["key", "Escape"]);
  });
});
