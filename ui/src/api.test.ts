import { describe, expect, it } from "vitest";
import { startedEarly } from "./api";
import { account, FakeApi } from "./test/fakeApi";

describe("startedEarly", () => {
  it("asks for the account list once up front, hands that answer to the first caller, and asks again after", async () => {
    const api = new FakeApi();
    api.accounts = { status: "ok", data: [account({ id: "a" })] };
    const early = startedEarly(api);
    expect(api.listCalls, "started before any screen asks").toBe(1);

    api.accounts = { status: "ok", data: [] };
    const first = await early.listAccounts();
    expect(api.listCalls, "the first call takes the early request").toBe(1);
    expect(first.status === "ok" && first.data.map((a) => a.id)).toEqual(["a"]);

    const second = await early.listAccounts();
    expect(api.listCalls, "later calls ask again").toBe(2);
    expect(second.status === "ok" && second.data).toEqual([]);
  });
});
