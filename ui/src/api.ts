// The UI's view of the backend. Production wraps the generated bindings; tests pass a
// fake with the same shape. Screens never import bindings.ts directly.
import { createContext, useContext } from "react";
import { getCurrentWindow } from "@tauri-apps/api/window";
import {
  commands,
  events,
  type AccountView_Serialize,
  type AppError,
  type AppStatus_Serialize,
  type CalendarAccess,
  type Diagnostics,
  type Notice,
  type Progress,
  type Provider,
  type Removed_Serialize,
  type ServiceChoice_Serialize,
  type ServiceView,
  type SignInRequest_Deserialize,
  type SignInStage,
  type SignInStarted,
  type SignInUpdate,
  type VaultStatus,
  type HealthView_Serialize,
  type Settings,
  type TimelineEntry_Serialize,
  type UpdateStatus_Serialize,
  type MailFilter_Deserialize,
  type MailList_Serialize,
  type MailStatus,
  type Mailbox,
  type MessageRef,
  type MessageSummary_Serialize,
  type MessageView_Serialize,
  type Segment,
  type AttachmentView,
  type Service,
  type SyncRunView_Serialize,
  type MboxExport,
} from "./bindings";

/** What `appStatus` returns (the serialized side of the Rust type). */
export type AppStatus = AppStatus_Serialize;
export type AccountView = AccountView_Serialize;
export type Removed = Removed_Serialize;
export type SignInRequest = SignInRequest_Deserialize;
export type ServiceChoice = ServiceChoice_Serialize;
export type HealthView = HealthView_Serialize;
export type TimelineEntry = TimelineEntry_Serialize;
export type UpdateStatus = UpdateStatus_Serialize;
export type MailFilter = MailFilter_Deserialize;
export type MailList = MailList_Serialize;
export type MessageSummary = MessageSummary_Serialize;
export type MessageView = MessageView_Serialize;
export type SyncRunView = SyncRunView_Serialize;

export type {
  AppError,
  CalendarAccess,
  Diagnostics,
  Notice,
  Progress,
  Provider,
  ServiceView,
  SignInStage,
  SignInStarted,
  SignInUpdate,
  VaultStatus,
  Settings,
  MailStatus,
  Mailbox,
  MessageRef,
  Segment,
  AttachmentView,
  Service,
  MboxExport,
};

export type Result<T> = { status: "ok"; data: T } | { status: "error"; error: AppError };

export type Unlisten = () => void;

export interface Api {
  appStatus(): Promise<AppStatus>;
  listAccounts(): Promise<Result<AccountView[]>>;
  /** Opens the provider's sign-in page in the system browser. */
  beginSignIn(request: SignInRequest): Promise<Result<SignInStarted>>;
  cancelSignIn(flowId: string): Promise<Result<boolean>>;
  removeAccount(accountId: string): Promise<Result<Removed>>;
  /** Turns off the services `services` leaves out. */
  setServices(accountId: string, services: ServiceChoice): Promise<Result<null>>;
  vaultStatus(): Promise<Result<VaultStatus>>;
  unlockVault(passphrase: string): Promise<Result<VaultStatus>>;
  /** Only where no system keychain exists. */
  createPassphraseVault(passphrase: string): Promise<Result<VaultStatus>>;
  /** "Sync now": checks every connection at once. */
  checkNow(): Promise<Result<null>>;
  /** Pauses or resumes the background work for an account. */
  setPaused(accountId: string, paused: boolean): Promise<Result<null>>;
  accountTimeline(accountId: string): Promise<Result<TimelineEntry[]>>;
  /** Saves the timeline as JSON in Downloads; returns the file's path. */
  exportTimeline(accountId: string): Promise<Result<string>>;
  getSettings(): Promise<Result<Settings>>;
  /** A page of the unified inbox or of a search; `cursor` is the previous page's `next`. */
  listMail(filter: MailFilter, cursor: string | null, limit: number): Promise<Result<MailList>>;
  /** Where each account's mail sync stands. */
  mailStatus(): Promise<Result<MailStatus[]>>;
  mailConversation(accountId: string, threadId: string): Promise<Result<MessageSummary[]>>;
  /** The account's sync runs, newest first. */
  syncLog(accountId: string): Promise<Result<SyncRunView[]>>;
  /** Pauses or resumes one service's sync for an account. */
  setServicePaused(accountId: string, service: Service, paused: boolean): Promise<Result<null>>;
  decideRemovals(accountId: string, service: Service, remove: boolean): Promise<Result<null>>;
  syncServiceNow(accountId: string, service: Service): Promise<Result<null>>;
  /** A message for the reading pane; remote images only with `allowRemote`. */
  readMessage(message: MessageRef, allowRemote: boolean): Promise<Result<MessageView>>;
  /** Opens an attachment with the system's app for its type. */
  openAttachment(message: MessageRef, index: number): Promise<Result<null>>;
  /** Saves an attachment in Downloads; returns the file's path. */
  saveAttachment(message: MessageRef, index: number): Promise<Result<string>>;
  /** Saves a message as .eml in Downloads; returns the file's path. */
  exportMessage(message: MessageRef): Promise<Result<string>>;
  /** Saves every message the filter shows as one mbox file in Downloads. */
  exportMbox(filter: MailFilter): Promise<Result<MboxExport>>;
  updateStatus(): Promise<UpdateStatus>;
  /** Looks for an update now; the outcome arrives through `onUpdate`. */
  checkForUpdates(): Promise<void>;
  /** Installs the verified update and restarts Ferry. */
  installUpdate(): Promise<Result<null>>;
  onUpdate(handler: (status: UpdateStatus) => void): Promise<Unlisten>;
  /** Builds the support report and puts it on the clipboard. */
  copyDiagnostics(): Promise<Result<Diagnostics>>;
  setSettings(settings: Settings): Promise<Result<Settings>>;
  uiReady(): Promise<Result<null>>;
  onNotice(handler: (notice: Notice) => void): Promise<Unlisten>;
  /** These accounts changed (added, removed, health, services, timeline). */
  onAccountsChanged(handler: (accountIds: string[]) => void): Promise<Unlisten>;
  /** These accounts' mail changed (a sync page landed). */
  onMailChanged(handler: (accountIds: string[]) => void): Promise<Unlisten>;
  /** Long work moved on ("Sync now" checking connections). */
  onProgress(handler: (progress: Progress) => void): Promise<Unlisten>;
  onSignIn(handler: (update: SignInUpdate) => void): Promise<Unlisten>;
  /** Reconnect chosen from a notification or the tray. */
  onReconnectRequested(handler: (accountId: string) => void): Promise<Unlisten>;
  /** Review of an account's held sync was chosen in the tray or a notification. */
  onReviewRequested(handler: (accountId: string) => void): Promise<Unlisten>;
  /** Closes this window; Ferry keeps running in the tray. */
  closeWindow(): Promise<void>;
}

export const tauriApi: Api = {
  appStatus: () => commands.appStatus(),
  listAccounts: () => commands.listAccounts(),
  beginSignIn: (request) => commands.beginSignIn(request),
  cancelSignIn: (flowId) => commands.cancelSignIn(flowId),
  removeAccount: (accountId) => commands.removeAccount(accountId),
  setServices: (accountId, services) => commands.setServices(accountId, services),
  vaultStatus: () => commands.vaultStatus(),
  unlockVault: (passphrase) => commands.unlockVault(passphrase),
  createPassphraseVault: (passphrase) => commands.createPassphraseVault(passphrase),
  checkNow: () => commands.checkNow(),
  setPaused: (accountId, paused) => commands.setPaused(accountId, paused),
  accountTimeline: (accountId) => commands.accountTimeline(accountId),
  exportTimeline: (accountId) => commands.exportTimeline(accountId),
  getSettings: () => commands.getSettings(),
  listMail: (filter, cursor, limit) => commands.listMail({ filter, cursor, limit }),
  mailStatus: () => commands.mailStatus(),
  mailConversation: (accountId, threadId) => commands.mailConversation(accountId, threadId),
  syncLog: (accountId) => commands.syncLog(accountId),
  setServicePaused: (accountId, service, paused) => commands.setServicePaused(accountId, service, paused),
  decideRemovals: (accountId, service, remove) => commands.decideRemovals(accountId, service, remove),
  syncServiceNow: (accountId, service) => commands.syncServiceNow(accountId, service),
  readMessage: (message, allowRemote) => commands.readMessage(message, allowRemote),
  openAttachment: (message, index) => commands.openAttachment(message, index),
  saveAttachment: (message, index) => commands.saveAttachment(message, index),
  exportMessage: (message) => commands.exportMessage(message),
  exportMbox: (filter) => commands.exportMbox(filter),
  copyDiagnostics: () => commands.copyDiagnostics(),
  updateStatus: () => commands.updateStatus(),
  checkForUpdates: () => commands.checkForUpdates(),
  installUpdate: () => commands.installUpdate(),
  onUpdate: (handler) => events.updateEvent.listen((event) => { handler(event.payload); }),
  setSettings: (settings) => commands.setSettings(settings),
  uiReady: () => commands.uiReady(),
  onNotice: (handler) => events.noticeEvent.listen((event) => { handler(event.payload); }),
  onAccountsChanged: (handler) =>
    events.accountsChangedEvent.listen((event) => { handler(event.payload); }),
  onMailChanged: (handler) => events.mailChangedEvent.listen((event) => { handler(event.payload); }),
  onProgress: (handler) => events.progressEvent.listen((event) => { handler(event.payload); }),
  onSignIn: (handler) => events.signInEvent.listen((event) => { handler(event.payload); }),
  onReconnectRequested: (handler) =>
    events.reconnectRequestedEvent.listen((event) => { handler(event.payload); }),
  onReviewRequested: (handler) =>
    events.reviewRequestedEvent.listen((event) => { handler(event.payload); }),
  closeWindow: () => getCurrentWindow().close(),
};

/**
 * Starts the first screen's queries at once, side by side, instead of one after another as
 * the screens mount: the first call of each goes to the request already under way, later
 * calls ask again. Saves a window's opening a round trip or two.
 */
export function startedEarly(api: Api): Api {
  const early: Partial<Pick<Api, "appStatus" | "listAccounts">> = {};
  const status = api.appStatus();
  const accounts = api.listAccounts();
  early.appStatus = () => { delete early.appStatus; return status; };
  early.listAccounts = () => { delete early.listAccounts; return accounts; };
  return {
    ...api,
    appStatus: () => (early.appStatus ?? api.appStatus)(),
    listAccounts: () => (early.listAccounts ?? api.listAccounts)(),
  };
}

/**
 * Starts an event subscription from an effect and returns the effect's cleanup. The
 * listener is registered asynchronously, so a cleanup that runs first stops it as soon as
 * it exists. `onListening` runs once the listener is in place.
 */
export function subscribe(start: () => Promise<Unlisten>, onListening?: () => void): () => void {
  let unlisten: Unlisten | null = null;
  let cancelled = false;
  void start().then((stop) => {
    if (cancelled) {
      stop();
    } else {
      unlisten = stop;
      onListening?.();
    }
  });
  return () => {
    cancelled = true;
    unlisten?.();
  };
}

/** Runs a command, turning a framework rejection into the same error shape. */
export async function call<T>(run: () => Promise<Result<T>>): Promise<Result<T>> {
  try {
    return await run();
  } catch (reason) {
    return { status: "error", error: asAppError(reason) };
  }
}

/** Turns anything a command rejected with (a framework failure) into the UI's error shape. */
export function asAppError(reason: unknown): AppError {
  const message = reason instanceof Error ? reason.message : String(reason);
  return { code: "Internal", message };
}

export const ApiContext = createContext<Api | null>(null);

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (api === null) {
    throw new Error("useApi outside <ApiContext.Provider>");
  }
  return api;
}
