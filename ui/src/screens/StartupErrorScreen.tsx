import type { AppError } from "../api";

const TITLES: Partial<Record<AppError["code"], string>> = {
  DatabaseTooNew: "This Ferry is older than your data",
  KeychainUnavailable: "Ferry cannot reach the system keychain",
  Storage: "Ferry cannot open its data",
  Configuration: "Ferry's account provider settings need attention",
};

/** Shown instead of the app when the core could not start. Nothing has been changed. */
export function StartupErrorScreen({ error, dataDir }: { error: AppError; dataDir: string | null }) {
  return (
    <main className="startup-error" role="alert" data-testid="startup-error">
      <h1>{TITLES[error.code] ?? "Ferry could not start"}</h1>
      <p data-testid="startup-error-message">{error.message}</p>
      {dataDir !== null && (
        <p className="muted">
          Ferry keeps its data in <code>{dataDir}</code>.
        </p>
      )}
    </main>
  );
}
