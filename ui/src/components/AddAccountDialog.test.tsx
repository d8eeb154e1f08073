import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import { FakeApi } from "../test/fakeApi";

describe("Add account dialog", () => {
  it("asks for a provider and services, and sends exactly that choice", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    render(<App api={api} />);
    await user.click(await screen.findByRole("button", { name: "Add account" }));
    const dialog = await screen.findByRole("dialog", { name: "Add account" });
    expect(dialog).toHaveTextContent("Ferry cannot send, change or delete messages");
    await user.click(screen.getByRole("radio", { name: /Microsoft/ }));
    await user.click(screen.getByRole("checkbox", { name: /Contacts/ }));
    await user.click(screen.getByRole("checkbox", { name: /add and change events/ }));
    await user.click(screen.getByRole("button", { name: "Continue with Microsoft" }));
    expect(api.signInRequests).toEqual([
      {
        provider: "microsoft",
        services: { mail: true, calendar: "readWrite", contacts: false },
        reconnect: null,
      },
    ]);
    expect(await screen.findByTestId("sign-in-waiting")).toHaveTextContent(
      "Finish signing in to Microsoft in your browser",
    );
  });

  it("cannot continue with no service chosen", async () => {
    const user = userEvent.setup();
    render(<App api={new FakeApi()} />);
    await user.click(await screen.findByRole("button", { name: "Add account" }));
    for (const name of [/Mail/, /Calendar/, /Contacts/]) {
      await user.click(screen.getByRole("checkbox", { name }));
    }
    expect(screen.getByRole("button", { name: "Continue with Google" })).toBeDisabled();
  });

  it("follows the sign-in's progress and closes when the account is added", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    render(<App api={api} />);
    await user.click(await screen.findByRole("button", { name: "Add account" }));
    await user.click(screen.getByRole("button", { name: "Continue with Google" }));
    await screen.findByTestId("sign-in-waiting");
    act(() => { api.sendSignIn({ flowId: "another-flow", stage: { kind: "cancelled" } }); });
    expect(screen.getByTestId("sign-in-waiting")).toBeInTheDocument();
    act(() => { api.sendSignIn({ flowId: "flow-1", stage: { kind: "finishing" } }); });
    expect(await screen.findByText("Checking your sign-in with Google…")).toBeInTheDocument();
    act(() => {
      api.sendSignIn({
        flowId: "flow-1",
        stage: { kind: "done", accountId: "a1", email: "ada@example.com", created: true },
      });
    });
    await waitFor(() => { expect(screen.queryByRole("dialog")).not.toBeInTheDocument(); });
  });

  it("shows why a sign-in failed and offers to try again", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    render(<App api={api} />);
    await user.click(await screen.findByRole("button", { name: "Add account" }));
    await user.click(screen.getByRole("button", { name: "Continue with Google" }));
    await screen.findByTestId("sign-in-waiting");
    act(() => {
      api.sendSignIn({
        flowId: "flow-1",
        stage: { kind: "failed", error: { code: "SignIn", message: "You declined access." } },
      });
    });
    expect(await screen.findByRole("alert")).toHaveTextContent("You declined access.");
    await user.click(screen.getByRole("button", { name: "Try again" }));
    expect(screen.getByRole("button", { name: "Continue with Google" })).toBeEnabled();
  });

  it("takes an answer that arrives before the sign-in has started", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.beforeBeginAnswers = () => {
      api.sendSignIn({
        flowId: "flow-1",
        stage: { kind: "failed", error: { code: "SignIn", message: "You declined access." } },
      });
    };
    render(<App api={api} />);
    await user.click(await screen.findByRole("button", { name: "Add account" }));
    await user.click(screen.getByRole("button", { name: "Continue with Google" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("You declined access.");
  });

  it("explains a locked keychain before any browser opens", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.beginResult = {
      status: "error",
      error: { code: "KeychainUnavailable", message: "The system keychain is not available." },
    };
    render(<App api={api} />);
    await user.click(await screen.findByRole("button", { name: "Add account" }));
    await user.click(screen.getByRole("button", { name: "Continue with Google" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The system keychain is not available.");
    expect(screen.getByTestId("sign-in-failed")).toHaveTextContent("Unlock it");
  });

  it("offers a passphrase where there is no keychain, then signs in", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.beginResult = {
      status: "error",
      error: { code: "KeychainUnavailable", message: "The system keychain is not available." },
    };
    render(<App api={api} />);
    await user.click(await screen.findByRole("button", { name: "Add account" }));
    await user.click(screen.getByRole("button", { name: "Continue with Google" }));
    await user.click(await screen.findByRole("button", { name: "protect it with a passphrase instead" }));
    const submit = screen.getByRole("button", { name: "Use this passphrase" });
    await user.type(screen.getByLabelText("Passphrase"), "short");
    expect(submit).toBeDisabled();
    await user.type(screen.getByLabelText("Passphrase"), " but now long");
    await user.type(screen.getByLabelText("Repeat it"), "short but now lon");
    expect(screen.getByText("The two passphrases differ.")).toBeInTheDocument();
    await user.type(screen.getByLabelText("Repeat it"), "g");
    await user.click(submit);
    expect(api.passphraseCalls).toEqual([{ kind: "create", passphrase: "short but now long" }]);
    expect(await screen.findByTestId("sign-in-waiting")).toBeInTheDocument();
    expect(api.signInRequests).toHaveLength(2);
  });

  it("cancels the sign-in with Cancel, and with Escape", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    render(<App api={api} />);
    await user.click(await screen.findByRole("button", { name: "Add account" }));
    await user.click(screen.getByRole("button", { name: "Continue with Google" }));
    await user.click(await screen.findByRole("button", { name: "Cancel" }));
    expect(api.cancelled).toEqual(["flow-1"]);
    await user.click(screen.getByRole("button", { name: "Continue with Google" }));
    await screen.findByTestId("sign-in-waiting");
    await user.keyboard("{Escape}");
    await waitFor(() => { expect(screen.queryByRole("dialog")).not.toBeInTheDocument(); });
    expect(api.cancelled).toEqual(["flow-1", "flow-1"]);
  });

  it("opens with Ctrl+N", async () => {
    const user = userEvent.setup();
    render(<App api={new FakeApi()} />);
    await screen.findByText("No accounts yet");
    await user.keyboard("{Control>}n{/Control}");
    expect(await screen.findByRole("dialog", { name: "Add account" })).toBeInTheDocument();
  });
});
