import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import { FakeApi } from "../test/fakeApi";

describe("Passphrase vault", () => {
  it("asks for the passphrase while Ferry is locked, and says when it is wrong", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.vault = { passphrase: true, unlocked: false };
    render(<App api={api} />);
    const banner = await screen.findByTestId("vault-locked");
    expect(banner).toHaveTextContent("Ferry is locked");
    await user.type(screen.getByLabelText("Passphrase"), "wrong guess{Enter}");
    expect(await screen.findByRole("alert")).toHaveTextContent("That passphrase is not right.");
    await user.clear(screen.getByLabelText("Passphrase"));
    await user.type(screen.getByLabelText("Passphrase"), "correct horse battery{Enter}");
    await waitFor(() => { expect(screen.queryByTestId("vault-locked")).not.toBeInTheDocument(); });
  });

  it("stays out of the way with a keychain", async () => {
    render(<App api={new FakeApi()} />);
    await screen.findByText("No accounts yet");
    expect(screen.queryByTestId("vault-locked")).not.toBeInTheDocument();
  });
});
