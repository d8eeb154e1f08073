import type {
  AccountView,
  Api,
  AppStatus,
  Diagnostics,
  Notice,
  Progress,
  Removed,
  Result,
  ServiceChoice,
  SignInRequest,
  SignInStarted,
  SignInUpdate,
  Settings,
  TimelineEntry,
  UpdateStatus,
  VaultStatus,
  MailFilter,
  MailList,
  MailStatus,
  MessageRef,
  MessageSummary,
  MessageView,
  Service,
  SyncRunView,
} from "../api";

/** An account as the backend would list it; override what a test cares about. */
export function account(overrides: Partial<AccountView> = {}): AccountView {
  return {
    id: "a1",
    provider: "google",
    email: "ada@example.com",
    displayName: "Ada Lovelace",
    services: [
      { service: "mail", requested: true, granted: true, access: "read" },
      { service: "calendar", requested: true, granted: true, access: "read" },
      { service: "contacts", requested: false, granted: false, access: "read" },
    ],
    addedAt: "2026-11-20T10:00:00Z",
    lastActivityAt: null,
    health: {
      state: "healthy",
      since: "2026-11-20T10:00:00Z",
      nextTryAt: null,
      code: null,
      help: null,
      lastRefreshAt: "2026-11-20T10:00:00Z",
      lastSyncAt: null,
      grantExpiresAt: null,
    },
    ...overrides,
  };
}

/** An account's mail sync, caught up; override what a test cares about. */
export function mailStatus(overrides: Partial<MailStatus> = {}): MailStatus {
  return {
    accountId: "a1",
    messages: 100,
    unread: 2,
    caughtUp: true,
    started: true,
    lastSyncAt: "2026-11-30T10:00:00Z",
    lastError: null,
    paused: false,
    held: null,
    requestsToday: 12,
    quotaUnitsToday: 240,
    ...overrides,
  };
}

/** A row of the inbox; override what a test cares about. */
export function summary(overrides: Partial<MessageSummary> = {}): MessageSummary {
  return {
    accountId: "a1",
    id: "m1",
    alsoIn: [],
    messageId: "m1@example.com",
    threadId: "t1",
    threadSize: 1,
    subject: [{ text: "Quarterly plans", hit: false }],
    fromName: "Grace Hopper",
    fromAddress: "grace@example.com",
    receivedAt: "2026-11-29T09:00:00Z",
    snippet: [{ text: "Here are the plans for the quarter", hit: false }],
    unread: true,
    starred: false,
    hasAttachments: false,
    unreadable: false,
    ...overrides,
  };
}

/** A message as the reading pane gets it. */
export function messageView(overrides: Partial<MessageView> = {}): MessageView {
  return {
    accountId: "a1",
    id: "m1",
    alsoIn: [],
    threadId: "t1",
    subject: "Quarterly plans",
    from: { name: "Grace Hopper", address: "grace@example.com" },
    to: [{ name: "Ada Lovelace", address: "ada@example.com" }],
    cc: [],
    receivedAt: "2026-11-29T09:00:00Z",
    unread: true,
    starred: false,
    folders: ["INBOX"],
    text: "Here are the plans for the quarter.",
    html: null,
    remoteBlocked: 0,
    attachments: [],
    problem: null,
    unreadable: false,
    ...overrides,
  };
}

/** An in-memory Api for screen tests; records what the screens asked for. */
export class FakeApi implements Api {
  accounts: Result<AccountView[]> = { status: "ok", data: [] };
  status: AppStatus = {
    info: { version: "0.1.0", profile: "test", dataDir: "/tmp/ferry-test", sandbox: false },
    startupError: null,
  };
  readyCalls = 0;
  closeCalls = 0;
  listCalls = 0;
  signInRequests: SignInRequest[] = [];
  beginResult: Result<SignInStarted> = {
    status: "ok",
    data: { flowId: "flow-1", returnPath: "loopback" },
  };
  cancelled: string[] = [];
  removed: string[] = [];
  removeResult: Result<Removed> = { status: "ok", data: { revoked: true, advice: null } };
  servicesSet: { accountId: string; services: ServiceChoice }[] = [];
  private noticeHandlers: ((notice: Notice) => void)[] = [];
  private changeHandlers: ((accountIds: string[]) => void)[] = [];
  private progressHandlers: ((progress: Progress) => void)[] = [];
  private signInHandlers: ((update: SignInUpdate) => void)[] = [];

  vault: VaultStatus = { passphrase: false, unlocked: true };
  checks = 0;
  timelines: Record<string, TimelineEntry[]> = {};
  exported: string[] = [];
  settings: Settings = {
    notifications: true,
    transientAlertMinutes: 30,
    launchAtLogin: false,
    launchAtLoginOffered: false,
    mailMonths: 12,
  };
  private reconnectHandlers: ((accountId: string) => void)[] = [];
  private reviewHandlers: ((accountId: string) => void)[] = [];

  checkNow = (): Promise<Result<null>> => {
    this.checks += 1;
    return Promise.resolve({ status: "ok", data: null });
  };
  paused: { accountId: string; paused: boolean }[] = [];
  setPaused = (accountId: string, paused: boolean): Promise<Result<null>> => {
    this.paused.push({ accountId, paused });
    return Promise.resolve({ status: "ok", data: null });
  };
  accountTimeline = (accountId: string): Promise<Result<TimelineEntry[]>> =>
    Promise.resolve({ status: "ok", data: this.timelines[accountId] ?? [] });
  exportTimeline = (accountId: string): Promise<Result<string>> => {
    this.exported.push(accountId);
    return Promise.resolve({ status: "ok", data: `/home/ada/Downloads/ferry-timeline-${accountId}.json` });
  };
  /** The inbox's rows, filtered by nothing: tests set what they need. */
  mail: MessageSummary[] = [];
  mailQueries: { filter: MailFilter; cursor: string | null }[] = [];
  mailError: Result<MailList> | null = null;
  /** Rows per page the fake serves (the cursor is the next row's index). */
  mailPage = 50;
  listMail = (filter: MailFilter, cursor: string | null, limit: number): Promise<Result<MailList>> => {
    this.mailQueries.push({ filter, cursor });
    if (this.mailError !== null) return Promise.resolve(this.mailError);
    const start = cursor === null ? 0 : Number(cursor);
    const size = Math.min(limit, this.mailPage);
    const rows = this.mail.filter((m) => !filter.unreadOnly || m.unread);
    const end = start + size;
    return Promise.resolve({
      status: "ok",
      data: {
        messages: rows.slice(start, end),
        next: end < rows.length ? String(end) : null,
        ranked: filter.search.trim() !== "",
      },
    });
  };
  statuses: MailStatus[] = [];
  mailStatus = (): Promise<Result<MailStatus[]>> => Promise.resolve({ status: "ok", data: this.statuses });
  mailConversation = (accountId: string, threadId: string): Promise<Result<MessageSummary[]>> =>
    Promise.resolve({
      status: "ok",
      data: this.mail.filter((m) => m.accountId === accountId && m.threadId === threadId),
    });
  syncLogs: Record<string, SyncRunView[]> = {};
  syncLog = (accountId: string): Promise<Result<SyncRunView[]>> =>
    Promise.resolve({ status: "ok", data: this.syncLogs[accountId] ?? [] });
  servicePauses: { accountId: string; service: Service; paused: boolean }[] = [];
  setServicePaused = (accountId: string, service: Service, paused: boolean): Promise<Result<null>> => {
    this.servicePauses.push({ accountId, service, paused });
    this.statuses = this.statuses.map((s) => (s.accountId === accountId && service === "mail" ? { ...s, paused } : s));
    return Promise.resolve({ status: "ok", data: null });
  };
  syncsAsked: { accountId: string; service: Service }[] = [];
  syncServiceNow = (accountId: string, service: Service): Promise<Result<null>> => {
    this.syncsAsked.push({ accountId, service });
    return Promise.resolve({ status: "ok", data: null });
  };
  decisions: { accountId: string; service: Service; remove: boolean }[] = [];
  decideRemovals = (accountId: string, service: Service, remove: boolean): Promise<Result<null>> => {
    this.decisions.push({ accountId, service, remove });
    this.statuses = this.statuses.map((s) => (s.accountId === accountId && service === "mail" ? { ...s, held: null } : s));
    return Promise.resolve({ status: "ok", data: null });
  };
  views: Record<string, MessageView> = {};
  reads: { message: MessageRef; allowRemote: boolean }[] = [];
  readMessage = (message: MessageRef, allowRemote: boolean): Promise<Result<MessageView>> => {
    this.reads.push({ message, allowRemote });
    const view = this.views[message.id] ?? messageView({ accountId: message.accountId, id: message.id });
    return Promise.resolve({
      status: "ok",
      data: allowRemote ? { ...view, remoteBlocked: 0 } : view,
    });
  };
  attachmentsOpened: { message: MessageRef; index: number }[] = [];
  openAttachment = (message: MessageRef, index: number): Promise<Result<null>> => {
    this.attachmentsOpened.push({ message, index });
    return Promise.resolve({ status: "ok", data: null });
  };
  exports: (MessageRef | MailFilter)[] = [];
  exportMessage = (message: MessageRef): Promise<Result<string>> => {
    this.exports.push(message);
    return Promise.resolve({ status: "ok", data: `/home/ada/Downloads/${message.id}.eml` });
  };
  exportMbox = (filter: MailFilter): Promise<Result<{ path: string; messages: number }>> => {
    this.exports.push(filter);
    return Promise.resolve({ status: "ok", data: { path: "/home/ada/Downloads/ferry-mail.mbox", messages: this.mail.length } });
  };
  saveAttachment = (message: MessageRef, index: number): Promise<Result<string>> =>
    Promise.resolve({ status: "ok", data: `/home/ada/Downloads/${message.id}-${String(index)}` });
  getSettings = (): Promise<Result<Settings>> => Promise.resolve({ status: "ok", data: this.settings });
  diagnostics: Result<Diagnostics> = {
    status: "ok",
    data: { text: "Ferry diagnostics\nAccounts: 1\n1. Google – Healthy", copied: true },
  };
  copyDiagnostics = (): Promise<Result<Diagnostics>> => Promise.resolve(this.diagnostics);
  update: UpdateStatus = { state: "idle" };
  updateChecks = 0;
  installs = 0;
  private updateHandlers: ((status: UpdateStatus) => void)[] = [];
  updateStatus = () => Promise.resolve(this.update);
  checkForUpdates = () => {
    this.updateChecks += 1;
    return Promise.resolve();
  };
  installUpdate = (): Promise<Result<null>> => {
    this.installs += 1;
    return Promise.resolve({ status: "ok", data: null });
  };
  onUpdate = (handler: (status: UpdateStatus) => void) => {
    this.updateHandlers.push(handler);
    return Promise.resolve(() => {
      this.updateHandlers = this.updateHandlers.filter((h) => h !== handler);
    });
  };
  sendUpdate(status: UpdateStatus) {
    this.update = status;
    this.updateHandlers.forEach((h) => { h(status); });
  }
  setSettings = (settings: Settings): Promise<Result<Settings>> => {
    this.settings = settings;
    return Promise.resolve({ status: "ok", data: settings });
  };
  onReconnectRequested = (handler: (accountId: string) => void) => {
    this.reconnectHandlers.push(handler);
    return Promise.resolve(() => {
      this.reconnectHandlers = this.reconnectHandlers.filter((h) => h !== handler);
    });
  };
  sendReconnectRequested(accountId: string) {
    this.reconnectHandlers.forEach((h) => { h(accountId); });
  }
  onReviewRequested = (handler: (accountId: string) => void) => {
    this.reviewHandlers.push(handler);
    return Promise.resolve(() => {
      this.reviewHandlers = this.reviewHandlers.filter((h) => h !== handler);
    });
  };
  sendReviewRequested(accountId: string) {
    this.reviewHandlers.forEach((h) => { h(accountId); });
  }
  /** The passphrase that unlocks (or that was chosen). */
  passphrase = "correct horse battery";
  passphraseCalls: { kind: "unlock" | "create"; passphrase: string }[] = [];

  vaultStatus = (): Promise<Result<VaultStatus>> => Promise.resolve({ status: "ok", data: this.vault });
  unlockVault = (passphrase: string): Promise<Result<VaultStatus>> => {
    this.passphraseCalls.push({ kind: "unlock", passphrase });
    if (passphrase !== this.passphrase) {
      return Promise.resolve({
        status: "error",
        error: { code: "VaultLocked", message: "That passphrase is not right." },
      });
    }
    this.vault = { passphrase: true, unlocked: true };
    return Promise.resolve({ status: "ok", data: this.vault });
  };
  createPassphraseVault = (passphrase: string): Promise<Result<VaultStatus>> => {
    this.passphraseCalls.push({ kind: "create", passphrase });
    this.vault = { passphrase: true, unlocked: true };
    this.beginResult = { status: "ok", data: { flowId: "flow-1", returnPath: "loopback" } };
    return Promise.resolve({ status: "ok", data: this.vault });
  };

  /** Runs before beginSignIn answers: a fast browser can finish first. */
  beforeBeginAnswers: (() => void) | null = null;

  beginSignIn = (request: SignInRequest) => {
    this.signInRequests.push(request);
    this.beforeBeginAnswers?.();
    return Promise.resolve(this.beginResult);
  };
  cancelSignIn = (flowId: string): Promise<Result<boolean>> => {
    this.cancelled.push(flowId);
    return Promise.resolve({ status: "ok", data: true });
  };
  removeAccount = (accountId: string) => {
    this.removed.push(accountId);
    return Promise.resolve(this.removeResult);
  };
  setServices = (accountId: string, services: ServiceChoice): Promise<Result<null>> => {
    this.servicesSet.push({ accountId, services });
    return Promise.resolve({ status: "ok", data: null });
  };
  onSignIn = (handler: (update: SignInUpdate) => void) => {
    this.signInHandlers.push(handler);
    return Promise.resolve(() => {
      this.signInHandlers = this.signInHandlers.filter((h) => h !== handler);
    });
  };
  sendSignIn(update: SignInUpdate) {
    this.signInHandlers.forEach((h) => { h(update); });
  }

  appStatus = () => Promise.resolve(this.status);
  listAccounts = () => {
    this.listCalls += 1;
    return Promise.resolve(this.accounts);
  };
  uiReady = (): Promise<Result<null>> => {
    this.readyCalls += 1;
    return Promise.resolve({ status: "ok", data: null });
  };
  onNotice = (handler: (notice: Notice) => void) => {
    this.noticeHandlers.push(handler);
    return Promise.resolve(() => {
      this.noticeHandlers = this.noticeHandlers.filter((h) => h !== handler);
    });
  };
  onAccountsChanged = (handler: (accountIds: string[]) => void) => {
    this.changeHandlers.push(handler);
    return Promise.resolve(() => {
      this.changeHandlers = this.changeHandlers.filter((h) => h !== handler);
    });
  };

  closeWindow = () => {
    this.closeCalls += 1;
    return Promise.resolve();
  };

  sendNotice(notice: Notice) {
    this.noticeHandlers.forEach((h) => { h(notice); });
  }
  private mailHandlers: ((accountIds: string[]) => void)[] = [];
  onMailChanged = (handler: (accountIds: string[]) => void) => {
    this.mailHandlers.push(handler);
    return Promise.resolve(() => {
      this.mailHandlers = this.mailHandlers.filter((h) => h !== handler);
    });
  };
  sendMailChanged(accountIds: string[] = ["a1"]) {
    this.mailHandlers.forEach((h) => { h(accountIds); });
  }
  sendAccountsChanged(accountIds: string[] = ["a1"]) {
    this.changeHandlers.forEach((h) => { h(accountIds); });
  }
  onProgress = (handler: (progress: Progress) => void) => {
    this.progressHandlers.push(handler);
    return Promise.resolve(() => {
      this.progressHandlers = this.progressHandlers.filter((h) => h !== handler);
    });
  };
  sendProgress(progress: Progress) {
    this.progressHandlers.forEach((h) => { h(progress); });
  }
}
