import { Dialog } from "radix-ui";

interface Props {
  open: boolean;
  onOpenChange: (open: boolean) => void;
}

/**
 * Where a user picks Google or Microsoft. Signing in is not wired up in this build, and
 * the dialog says so rather than pretending.
 */
export function AddAccountDialog({ open, onOpenChange }: Props) {
  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content className="dialog" data-testid="add-account-dialog">
          <Dialog.Title>Add account</Dialog.Title>
          <Dialog.Description className="muted">
            Choose where the account lives. You will sign in in your own browser.
          </Dialog.Description>
          <div className="provider-choices" role="group" aria-label="Provider">
            <button type="button" className="button provider" disabled data-testid="provider-google">
              Google
            </button>
            <button type="button" className="button provider" disabled data-testid="provider-microsoft">
              Microsoft
            </button>
          </div>
          <p className="panel info" data-testid="add-account-unavailable">
            Signing in is not available in this build of Ferry yet. Nothing has been changed.
          </p>
          <div className="dialog-actions">
            <Dialog.Close asChild>
              <button type="button" className="button" data-testid="add-account-close">
                Close
              </button>
            </Dialog.Close>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
