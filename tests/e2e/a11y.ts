// Accessibility in the real window: axe-core runs in Ferry's webview and any WCAG 2.1 A
// or AA violation fails the test that reached the state. Every screenshot a test takes is
// checked (see `screenshot` in ferry.ts), so each screen and dialog is checked in every
// state the tests reach; the results are written to target/e2e/axe/<state>.json.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { Browser } from "./ferry";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
/** The rules for WCAG 2.0 and 2.1, levels A and AA. */
const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

export interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string; summary: string }[];
}

interface AxeRun {
  violations: Violation[];
  passes: number;
  error?: string;
}

/** Runs axe-core over the window's document as it is now. */
export async function axeRun(b: Browser): Promise<AxeRun> {
  const present = await b.execute(() => "axe" in window);
  if (!present) await b.execute(`${AXE_SOURCE};return true;`);
  const json = await b.executeAsync((tags: string[], done: (result: string) => void) => {
    interface AxeNode { target: unknown[]; failureSummary?: string }
    interface AxeResult { id: string; impact?: string | null; help: string; nodes: AxeNode[] }
    const axe = (window as unknown as {
      axe: { run: (context: Document, options: object) => Promise<{ violations: AxeResult[]; passes: AxeResult[] }> };
    }).axe;
    axe
      .run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] })
      .then(
        (result) => {
          done(
            JSON.stringify({
              passes: result.passes.length,
              violations: result.violations.map((v) => ({
                id: v.id,
                impact: v.impact ?? null,
                help: v.help,
                nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary ?? "" })),
              })),
            }),
          );
        },
        (error: unknown) => { done(JSON.stringify({ violations: [], passes: 0, error: String(error) })); },
      );
  }, WCAG_TAGS);
  return JSON.parse(json) as AxeRun;
}

/** Checks the window as it is now; throws, naming each violation, if there is any. */
export async function assertAccessible(b: Browser, state: string, dir: string): Promise<void> {
  const run = await axeRun(b);
  const out = join(dir, "axe");
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `${state}.json`), JSON.stringify(run, null, 2));
  if (run.error !== undefined) throw new Error(`axe could not run in state ${state}: ${run.error}`);
  if (run.passes === 0) throw new Error(`axe checked nothing in state ${state}`);
  if (run.violations.length > 0) {
    const lines = run.violations.flatMap((v) => [
      `${v.id} (${v.impact ?? "?"}): ${v.help}`,
      ...v.nodes.map((n) => `    at ${n.target}: ${n.summary.replace(/\n/g, " ")}`),
    ]);
    throw new Error(`${run.violations.length} accessibility violation(s) in state ${state}:\n${lines.join("\n")}`);
  }
}
