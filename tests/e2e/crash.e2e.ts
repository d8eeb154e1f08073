// A first mail sync killed (SIGKILL, no chance to clean up) at 20 random moments: after
// each restart the sync goes on from its last checkpoint, and in the end Ferry's copy of
// the mailbox equals the sandbox's, message for message (labels and a content hash).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decompress } from "fzstd";
import {
  DATABASE,
  ferryGone,
  ferryPids,
  launchReady,
  oneFerryPerTest,
  quit,
  sandbox,
  sandboxPost,
  spawnFerry,
  sql,
  waitUntil,
} from "./ferry";
import { addAccount } from "./accounts";

const ferry = oneFerryPerTest();
/** A person of this test's own, whose mailbox holds only what the test puts there (all
 * of it within the first sync's twelve months). */
const HEDY = { email: "hedy@example.net", password: "hedy" };
const MESSAGES = 1500;
const KILLS = 20;

/** What this test is about is what a kill leaves behind, not pacing: the hidden Ferrys
 * are told of a Gmail quota large enough that the sync never waits for the next minute
 * (otherwise the last Ferry's wait depends on how far the kills got). */
const UNPACED = { FERRY_GMAIL_QUOTA_PER_MINUTE: "1000000" };

/** The sandbox's setting, restored after the file. */
let config: Record<string, unknown> = {};

async function putConfig(body: Record<string, unknown>): Promise<void> {
  const base = process.env.FERRY_SANDBOX_CONTROL_URL;
  if (base === undefined) throw new Error("the sandbox is not running");
  const response = await fetch(`${base}/config`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`/config: ${response.status} ${await response.text()}`);
}

beforeAll(async () => {
  config = await sandbox<Record<string, unknown>>("/config");
  // Round trips long enough that the first sync takes a while, so every kill lands in it.
  await putConfig({ ...config, latency_ms: 40 });
});

afterAll(async () => {
  await putConfig(config);
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function killFerry(): Promise<void> {
  for (const pid of ferryPids()) {
    try { process.kill(pid, "SIGKILL"); } catch { /* gone already */ }
  }
  expect(await waitUntil(ferryGone, 10_000)).toBe(true);
}

function messagesStored(): number {
  return Number(sql("SELECT COUNT(*) FROM mail_messages"));
}

/** One message as the sandbox's summary lists it: its labels and its content's SHA-256,
 * of its raw bytes and of its `full` resource (the two ways Ferry may keep it). */
interface Content {
  id: string;
  labels: string[];
  raw: string;
  full: string;
}

interface Part {
  partId?: string;
  mimeType?: string;
  filename?: string;
  headers?: { name?: string; value?: string }[];
  body?: { data?: string; attachmentId?: string };
  parts?: Part[];
}

/** What both sides hash of a `full` resource's payload: each part in tree order, its id,
 * type, file name, headers and body (data as sent, or attachment id), one per line (the
 * sandbox's `payload_digest_input`). */
function payloadDigestInput(payload: Part): string {
  let out = "";
  const stack: Part[] = [payload];
  for (let part = stack.pop(); part !== undefined; part = stack.pop()) {
    out += `${part.partId ?? ""}\n${part.mimeType ?? ""}\n${part.filename ?? ""}\n`;
    for (const h of part.headers ?? []) out += `${h.name ?? ""}: ${h.value ?? ""}\n`;
    out += `${part.body?.data ?? ""}${part.body?.attachmentId ?? ""}\n`;
    stack.push(...[...(part.parts ?? [])].reverse());
  }
  return out;
}

const sha256 = (data: Buffer | string): string => createHash("sha256").update(data).digest("hex");

/** Ferry's copy, message by message: labels and the hash of what it keeps (raw bytes, or
 * Gmail's JSON for a message that came with its conversation), with which of the two. */
function ferryContents(): { id: string; labels: string[]; format: string; sha256: string }[] {
  return execFileSync(
    "sqlite3",
    [
      "-readonly",
      DATABASE,
      `SELECT m.id,
              (SELECT group_concat(f.folder, ',') FROM mail_message_folders f
                WHERE f.account_id = m.account_id AND f.message = m.id),
              m.raw_format, hex(r.raw), r.compressed
       FROM mail_messages m JOIN mail_raw r ON r.account_id = m.account_id AND r.id = m.id
       ORDER BY m.id`,
    ],
    { encoding: "utf8", maxBuffer: 512 * 1024 * 1024 },
  )
    .split("\n")
    .filter(Boolean)
    .map((row) => {
      const [id = "", labels = "", format = "", hex = "", compressed = "0"] = row.split("|");
      const stored = Buffer.from(hex, "hex");
      // Ferry keeps a message's bytes as one zstd frame when that is smaller.
      const raw = compressed === "1" ? Buffer.from(decompress(stored)) : stored;
      const digest =
        format === "gmail-json"
          ? sha256(payloadDigestInput((JSON.parse(raw.toString("utf8")) as { payload: Part }).payload))
          : sha256(raw);
      return { id, labels: labels.split(",").filter(Boolean).sort(), format, sha256: digest };
    });
}

describe("A crash in the middle of a first sync", () => {
  it(`loses and doubles nothing, killed at ${KILLS} moments`, { timeout: 300_000 }, async () => {
    await sandboxPost("/users", { provider: "google", email: HEDY.email, name: "Hedy Lamarr", password: HEDY.password });
    await sandboxPost(`/mail/${HEDY.email}/seed`, { seed: 41, count: MESSAGES, span_days: 300 });
    const mailbox = (await sandbox<{ messages: number }>(`/mail/${HEDY.email}/summary`)).messages;
    expect(mailbox).toBe(MESSAGES);
    const b = (ferry.browser = await launchReady());
    await addAccount(b, "google", HEDY, { mail: true, calendar: false, contacts: false });
    // The window's Ferry quits through WebDriver (which allows one session at a time),
    // its sync under way; the kills are the hidden Ferrys' below.
    await quit(b);
    ferry.browser = undefined;

    const counts: number[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      spawnFerry(["--hidden"], UNPACED);
      await sleep(700 + Math.floor(Math.random() * 1300));
      await killFerry();
      const stored = messagesStored();
      expect(stored).toBeLessThanOrEqual(mailbox);
      counts.push(stored);
    }
    // Each start went on from where the last one stopped: the count never went back.
    expect(counts).toEqual([...counts].sort((a, c) => a - c));
    expect(counts[counts.length - 1]).toBeGreaterThan(counts[0] ?? 0);

    spawnFerry(["--hidden"], UNPACED);
    try {
      const synced = await waitUntil(
        () => messagesStored() === mailbox && sql("SELECT checkpoint FROM sync_checkpoints").includes('"incremental"'),
        120_000,
      );
      expect(synced, `stored ${messagesStored()} of ${mailbox}; counts after each kill: ${counts.join(", ")}`).toBe(true);
      // Message for message, the same labels and content, whichever way Ferry fetched it.
      const provider = await sandbox<{ messages: number; contents: Content[] }>(`/mail/${HEDY.email}/summary`);
      const ferryHas = ferryContents();
      expect(ferryHas.length).toBe(provider.messages);
      const format = new Map(ferryHas.map((m) => [m.id, m.format]));
      const expected = provider.contents.map((m) => ({
        id: m.id,
        labels: [...m.labels].sort(),
        format: format.get(m.id) ?? "missing",
        sha256: format.get(m.id) === "gmail-json" ? m.full : m.raw,
      }));
      expect(ferryHas).toEqual(expected);
      // Both ways were taken: conversations fetched whole, and messages alone.
      expect(new Set(format.values())).toEqual(new Set(["gmail-json", "rfc822"]));
    } finally {
      await killFerry();
    }
  });
});
