// Runs before each test file: the file's own tauri-driver, stopped after its last test.
import { afterAll, beforeAll } from "vitest";
import { startFileDriver, stopFileDriver } from "./driver";

beforeAll(async () => {
  await startFileDriver();
});

afterAll(async () => {
  await stopFileDriver();
});
