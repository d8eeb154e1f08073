import { useId, useState } from "react";
import { call, useApi, type AppError } from "../api";

const MIN_CHARS = 10;

interface Props {
  /** `create`: choose a passphrase (no keychain); `unlock`: enter it. */
  mode: "create" | "unlock";
  onDone: () => void;
}

/**
 * The passphrase vault, for computers without a system keychain: choose a passphrase
 * once, then enter it when Ferry starts. It never leaves this form except to the backend.
 */
export function PassphraseForm({ mode, onDone }: Props) {
  const api = useApi();
  const [passphrase, setPassphrase] = useState("");
  const [again, setAgain] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const hintId = useId();

  const mismatch = mode === "create" && again !== "" && again !== passphrase;
  const tooShort = mode === "create" && passphrase.length < MIN_CHARS;
  const disabled = busy || passphrase === "" || tooShort || (mode === "create" && again !== passphrase);

  const submit = async () => {
    setBusy(true);
    const result = await call(() =>
      mode === "create" ? api.createPassphraseVault(passphrase) : api.unlockVault(passphrase),
    );
    setBusy(false);
    if (result.status === "ok") {
      setPassphrase("");
      setAgain("");
      onDone();
    } else {
      setError(result.error);
    }
  };

  return (
    <form
      className="passphrase-form"
      data-testid={`passphrase-${mode}`}
      onSubmit={(e) => {
        e.preventDefault();
        if (!disabled) void submit();
      }}
    >
      <p className="small" id={hintId}>
        {mode === "create"
          ? `This computer has no system keychain, so Ferry can lock your sign-ins with a passphrase instead. Choose one of at least ${MIN_CHARS} characters; Ferry will ask for it when it starts. It cannot be recovered if you forget it.`
          : "Ferry's sign-ins are locked with your passphrase. Enter it to use your accounts."}
      </p>
      <label className="field">
        <span>Passphrase</span>
        <input
          type="password"
          autoComplete={mode === "create" ? "new-password" : "current-password"}
          aria-describedby={hintId}
          value={passphrase}
          onChange={(e) => { setPassphrase(e.target.value); }}
          data-testid="passphrase"
          autoFocus
        />
      </label>
      {mode === "create" && (
        <label className="field">
          <span>Repeat it</span>
          <input
            type="password"
            autoComplete="new-password"
            value={again}
            onChange={(e) => { setAgain(e.target.value); }}
            aria-invalid={mismatch}
            data-testid="passphrase-again"
          />
        </label>
      )}
      {mismatch && <p className="small error-text">The two passphrases differ.</p>}
      {error !== null && (
        <p className="small error-text" role="alert">
          {error.message}
        </p>
      )}
      <div className="dialog-actions">
        <button type="submit" className="button primary" disabled={disabled} data-testid="passphrase-submit">
          {busy ? "Working…" : mode === "create" ? "Use this passphrase" : "Unlock"}
        </button>
      </div>
    </form>
  );
}
