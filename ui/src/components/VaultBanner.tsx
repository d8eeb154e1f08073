import { useEffect, useState } from "react";
import { call, useApi, type VaultStatus } from "../api";
import { PassphraseForm } from "./PassphraseForm";

/** Asks for the passphrase when Ferry's key is passphrase-protected and still locked. */
export function VaultBanner() {
  const api = useApi();
  const [status, setStatus] = useState<VaultStatus | null>(null);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    let current = true;
    void call(() => api.vaultStatus()).then((result) => {
      if (current && result.status === "ok") setStatus(result.data);
    });
    return () => {
      current = false;
    };
  }, [api, generation]);

  if (status === null || !status.passphrase || status.unlocked) return null;
  return (
    <section className="panel info vault-banner" data-testid="vault-locked" aria-labelledby="vault-title">
      <h2 id="vault-title">Ferry is locked</h2>
      <PassphraseForm mode="unlock" onDone={() => { setGeneration((g) => g + 1); }} />
    </section>
  );
}
