// Adds up what every test runner of `make test` reported and prints one closing line.
// Inputs: Vitest JSON reports, cargo test's text output, and the package test's
// "package test: ok: …" lines, under target/test-reports/.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? "target/test-reports";
let passed = 0;
let failed = 0;
let skipped = 0;
const parts = [];

for (const file of readdirSync(dir).sort()) {
  const path = join(dir, file);
  if (file.endsWith(".json")) {
    const report = JSON.parse(readFileSync(path, "utf8"));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
    parts.push(`${file.replace(/\.json$/, "")} ${report.numPassedTests}`);
  } else if (file.endsWith(".log")) {
    let here = 0;
    const text = readFileSync(path, "utf8");
    for (const m of text.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored/g)) {
      here += Number(m[1]);
      failed += Number(m[2]);
      skipped += Number(m[3]);
    }
    // A script's checks, one line each.
    here += (text.match(/^package test: ok: /gm) ?? []).length;
    failed += (text.match(/^package test: FAILED/gm) ?? []).length;
    passed += here;
    parts.push(`${file.replace(/\.log$/, "")} ${here}`);
  }
}
if (!existsSync(dir) || parts.length === 0) {
  console.log("tests: 0 passed, 0 failed (no reports found)");
  process.exit(1);
}
console.log(`(${parts.join(", ")})`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
