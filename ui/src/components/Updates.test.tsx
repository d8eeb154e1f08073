import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import { FakeApi } from "../test/fakeApi";

describe("Updates", () => {
  it("shows Update ready and installs only when the user says so", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    render(<App api={api} />);
    await screen.findByTestId("accounts-empty");
    expect(screen.queryByTestId("update-ready")).not.toBeInTheDocument();
    act(() => { api.sendUpdate({ state: "ready", version: "0.2.0", notes: null }); });
    expect(await screen.findByTestId("update-ready")).toHaveTextContent(
      "Update ready. Ferry 0.2.0 is downloaded and verified.",
    );
    expect(api.installs).toBe(0);
    await user.click(screen.getByRole("button", { name: "Restart and update" }));
    expect(api.installs).toBe(1);
  });

  it("explains a refused update, which can be dismissed", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.update = { state: "failed", message: "Ferry 9.9.9 was downloaded, but its signature does not match Ferry's." };
    render(<App api={api} />);
    expect(await screen.findByTestId("update-failed")).toHaveTextContent("signature does not match");
    await user.click(screen.getByRole("button", { name: "Dismiss" }));
    expect(screen.queryByTestId("update-failed")).not.toBeInTheDocument();
  });

  it("checks from Settings and says what it found", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    render(<App api={api} />);
    await user.click(await screen.findByRole("button", { name: "Settings" }));
    await user.click(await screen.findByRole("button", { name: "Check for updates" }));
    expect(api.updateChecks).toBe(1);
    act(() => { api.sendUpdate({ state: "checking" }); });
    expect(screen.getByRole("button", { name: "Check for updates" })).toBeDisabled();
    act(() => { api.sendUpdate({ state: "upToDate", checkedAt: "2026-11-30T04:00:00Z" }); });
    await waitFor(() => { expect(screen.getByTestId("update-status")).toHaveTextContent("Ferry is up to date."); });
  });
});
