import type { AccountView, Api, AppStatus, Notice, Result } from "../api";

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
  private noticeHandlers: ((notice: Notice) => void)[] = [];
  private changeHandlers: (() => void)[] = [];

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
  onAccountsChanged = (handler: () => void) => {
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
  sendAccountsChanged() {
    this.changeHandlers.forEach((h) => { h(); });
  }
}
