import { useCallback, useEffect, useId, useRef, useState } from "react";
import { Dialog } from "radix-ui";
import {
  call,
  subscribe,
  useApi,
  type AppError,
  type CalendarAccess,
  type Provider,
  type ServiceChoice,
  type SignInStage,
} from "../api";
import { ACCOUNTS_HEADING, returnFocusTo } from "../focus";
import { PassphraseForm } from "./PassphraseForm";
import { PROVIDER_NAMES } from "./providers";

/** Reconnecting (or granting more) for an account Ferry already has. */
export interface Reconnect {
  accountId: string;
  email: string;
  provider: Provider;
  services: ServiceChoice;
}

interface Props {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  /** Set for Reconnect: the provider is fixed and the services start as they are. */
  reconnect?: Reconnect | null;
  /** Where focus goes when the dialog closes: the first of these selectors that exists. */
  returnFocus?: string[];
}

type Step =
  | { step: "choose" }
  | { step: "starting" }
  | { step: "waiting"; flowId: string; finishing: boolean }
  | { step: "failed"; error: AppError };

const DEFAULT_SERVICES: ServiceChoice = { mail: true, calendar: "read", contacts: true };

const PROVIDER_HINTS: Record<Provider, string> = {
  google: "Gmail, Google Calendar and Google Contacts",
  microsoft: "Outlook.com, Microsoft 365 and Exchange Online",
};

/**
 * Add account: pick Google or Microsoft and the services, sign in in the browser, and
 * wait here (with Cancel) until the browser comes back. Keyboard-complete: native radio
 * buttons and checkboxes, Escape cancels, focus stays inside the dialog.
 */
/** Add account again, else the Accounts heading. */
const DEFAULT_RETURN = ['[data-testid="add-account"]', ACCOUNTS_HEADING];

export function AddAccountDialog({ open, onOpenChange, reconnect = null, returnFocus }: Props) {
  const title = reconnect === null ? "Add account" : `Reconnect ${reconnect.email}`;
  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content
          className="dialog"
          data-testid="add-account-dialog"
          aria-describedby={undefined}
          onCloseAutoFocus={returnFocusTo(...(returnFocus ?? DEFAULT_RETURN))}
        >
          <Dialog.Title>{title}</Dialog.Title>
          {/* Mounted per opening, so each opening starts afresh. */}
          <SignIn reconnect={reconnect} onDone={() => { onOpenChange(false); }} />
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

function SignIn({ reconnect, onDone }: { reconnect: Reconnect | null; onDone: () => void }) {
  const api = useApi();
  const [provider, setProvider] = useState<Provider>(reconnect?.provider ?? "google");
  const [services, setServices] = useState<ServiceChoice>(reconnect?.services ?? DEFAULT_SERVICES);
  const [state, setState] = useState<Step>({ step: "choose" });
  const [usePassphrase, setUsePassphrase] = useState(false);
  const flowRef = useRef<string | null>(null);
  const headingId = useId();

  // Updates that arrive before beginSignIn has returned the flow id (a fast browser can
  // answer first) wait here until the id is known.
  const early = useRef(new Map<string, SignInStage>());

  // The latest onDone, read when the sign-in ends: the subscription below must not be
  // renewed on every render of the parent (an update arriving while it is renewed would
  // be missed, and the dialog would wait forever).
  const onDoneRef = useRef(onDone);
  useEffect(() => {
    onDoneRef.current = onDone;
  }, [onDone]);

  const apply = useCallback(
    (flowId: string, stage: SignInStage) => {
      switch (stage.kind) {
        case "finishing":
          setState({ step: "waiting", flowId, finishing: true });
          break;
        case "done":
          flowRef.current = null;
          onDoneRef.current();
          break;
        case "failed":
          flowRef.current = null;
          setState({ step: "failed", error: stage.error });
          break;
        case "cancelled":
          flowRef.current = null;
          setState({ step: "choose" });
          break;
      }
    },
    [],
  );

  useEffect(
    () =>
      subscribe(() =>
        api.onSignIn((update) => {
          if (flowRef.current === null) {
            early.current.set(update.flowId, update.stage);
          } else if (update.flowId === flowRef.current) {
            apply(update.flowId, update.stage);
          }
        }),
      ),
    [api, apply],
  );

  const cancel = () => {
    const flowId = flowRef.current;
    flowRef.current = null;
    if (flowId !== null) void call(() => api.cancelSignIn(flowId));
    setState({ step: "choose" });
  };

  // Closing the dialog (Escape, Cancel) while the browser is out cancels that sign-in.
  useEffect(
    () => () => {
      const flowId = flowRef.current;
      if (flowId !== null) void call(() => api.cancelSignIn(flowId));
    },
    [api],
  );

  const nothingChosen = !services.mail && services.calendar === null && !services.contacts;

  const start = async () => {
    if (nothingChosen) return;
    setState({ step: "starting" });
    const result = await call(() =>
      api.beginSignIn({ provider, services, reconnect: reconnect?.accountId ?? null }),
    );
    if (result.status === "ok") {
      const flowId = result.data.flowId;
      flowRef.current = flowId;
      setState({ step: "waiting", flowId, finishing: false });
      const already = early.current.get(flowId);
      early.current.clear();
      if (already !== undefined) apply(flowId, already);
    } else {
      setState({ step: "failed", error: result.error });
    }
  };

  const name = PROVIDER_NAMES[provider];

  return (
    <>
      {(state.step === "choose" || state.step === "starting") && (
        <form
          className="add-account-form"
          onSubmit={(e) => {
            e.preventDefault();
            void start();
          }}
        >
          {reconnect === null && (
            <fieldset className="provider-choices">
              <legend>Where does the account live?</legend>
              {(["google", "microsoft"] as const).map((p) => (
                <label key={p} className="choice provider" data-testid={`provider-${p}`}>
                  <input
                    type="radio"
                    name="provider"
                    value={p}
                    checked={provider === p}
                    onChange={() => { setProvider(p); }}
                  />
                  <span>
                    <strong>{PROVIDER_NAMES[p]}</strong>
                    <span className="muted small">{PROVIDER_HINTS[p]}</span>
                  </span>
                </label>
              ))}
            </fieldset>
          )}
          <ServicesFieldset provider={provider} services={services} onChange={setServices} />
          <p className="muted small" id={headingId}>
            {name} will open in your web browser. Sign in there and approve access;
            Ferry never sees your password.
          </p>
          <div className="dialog-actions">
            <Dialog.Close asChild>
              <button type="button" className="button" data-testid="add-account-close">
                Cancel
              </button>
            </Dialog.Close>
            <button
              type="submit"
              className="button primary"
              data-testid="sign-in-continue"
              aria-describedby={headingId}
              disabled={nothingChosen || state.step === "starting"}
            >
              {state.step === "starting" ? "Opening your browser…" : `Continue with ${name}`}
            </button>
          </div>
        </form>
      )}

      {state.step === "waiting" && (
        <div className="sign-in-waiting" data-testid="sign-in-waiting" aria-live="polite">
          <span className="spinner" aria-hidden="true" />
          {state.finishing ? (
            <p>Checking your sign-in with {name}…</p>
          ) : (
            <>
              <p>
                <strong>Finish signing in to {name} in your browser.</strong>
              </p>
              <p className="muted small">
                Ferry is waiting for the browser to come back. If no browser window
                opened, cancel and try again.
              </p>
            </>
          )}
          <div className="dialog-actions">
            <button type="button" className="button" data-testid="sign-in-cancel" onClick={cancel}>
              Cancel
            </button>
          </div>
        </div>
      )}

      {state.step === "failed" && (
        <div className="sign-in-failed" data-testid="sign-in-failed">
          <div className="panel error" role="alert" data-testid="sign-in-error" data-code={state.error.code}>
            <p>{state.error.message}</p>
          </div>
          {state.error.code === "KeychainUnavailable" &&
            (usePassphrase ? (
              <PassphraseForm mode="create" onDone={() => void start()} />
            ) : (
              <p className="small">
                Ferry keeps its key to your sign-ins in the system keychain. Unlock it (on
                Linux: GNOME Keyring or KWallet) and try again, or{" "}
                <button
                  type="button"
                  className="button link inline"
                  data-testid="use-passphrase"
                  onClick={() => { setUsePassphrase(true); }}
                >
                  protect it with a passphrase instead
                </button>
                . Nothing was saved.
              </p>
            ))}
          {state.error.code === "VaultLocked" && <PassphraseForm mode="unlock" onDone={() => void start()} />}
          <div className="dialog-actions">
            <Dialog.Close asChild>
              <button type="button" className="button">
                Close
              </button>
            </Dialog.Close>
            <button
              type="button"
              className="button"
              data-testid="sign-in-retry"
              onClick={() => { setState({ step: "choose" }); }}
            >
              Try again
            </button>
          </div>
        </div>
      )}
    </>
  );
}

const SERVICE_TEXT = {
  mail: "Read your mail, to show all your inboxes in one place. Ferry cannot send, change or delete messages.",
  calendar: "See your calendars, to show all your events in one agenda.",
  contacts: "Read your contacts, to build one address book. Ferry cannot change them.",
};

function ServicesFieldset({
  provider,
  services,
  onChange,
}: {
  provider: Provider;
  services: ServiceChoice;
  onChange: (services: ServiceChoice) => void;
}) {
  const setCalendar = (calendar: CalendarAccess | null) => { onChange({ ...services, calendar }); };
  return (
    <fieldset className="service-choices">
      <legend>What may Ferry use from this {PROVIDER_NAMES[provider]} account?</legend>
      <label className="choice">
        <input
          type="checkbox"
          data-testid="service-mail"
          checked={services.mail}
          onChange={(e) => { onChange({ ...services, mail: e.target.checked }); }}
        />
        <span>
          <strong>Mail</strong>
          <span className="muted small">{SERVICE_TEXT.mail}</span>
        </span>
      </label>
      <label className="choice">
        <input
          type="checkbox"
          data-testid="service-calendar"
          checked={services.calendar !== null}
          onChange={(e) => { setCalendar(e.target.checked ? "read" : null); }}
        />
        <span>
          <strong>Calendar</strong>
          <span className="muted small">{SERVICE_TEXT.calendar}</span>
        </span>
      </label>
      {services.calendar !== null && (
        <label className="choice nested">
          <input
            type="checkbox"
            data-testid="service-calendar-write"
            checked={services.calendar === "readWrite"}
            onChange={(e) => { setCalendar(e.target.checked ? "readWrite" : "read"); }}
          />
          <span className="small">
            Also let Ferry add and change events, for events you create or edit in Ferry.
          </span>
        </label>
      )}
      <label className="choice">
        <input
          type="checkbox"
          data-testid="service-contacts"
          checked={services.contacts}
          onChange={(e) => { onChange({ ...services, contacts: e.target.checked }); }}
        />
        <span>
          <strong>Contacts</strong>
          <span className="muted small">{SERVICE_TEXT.contacts}</span>
        </span>
      </label>
    </fieldset>
  );
}
