import { defineConfig } from "vitest/config";

// End-to-end tests drive the real Ferry window through tauri-driver. They run one file
// at a time: each test owns the app while it runs.
export default defineConfig({
  test: {
    include: ["*.e2e.ts"],
    globalSetup: ["./driver.ts"],
    setupFiles: ["./perfile.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
