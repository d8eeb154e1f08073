import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

/**
 * Switches to the Accounts section. With an account that brings mail, Ferry opens on the
 * inbox; screen tests of the accounts go there first (harmless when already there).
 */
export async function showAccounts(): Promise<void> {
  await userEvent.click(await screen.findByTestId("nav-accounts"));
}
