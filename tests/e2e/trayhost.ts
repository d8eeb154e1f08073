// A minimal system-tray host on the session bus, standing in for a desktop panel.
//
// Linux tray icons (libayatana-appindicator, which Tauri uses) register with
// `org.kde.StatusNotifierWatcher` and export their menu over `com.canonical.dbusmenu`.
// Debian has no panel that runs headless, so the tests own the watcher name themselves,
// record which items register, and read and click their menus exactly as a panel would.
import dbus from "dbus-next";

const { Message, Variant } = dbus;
type Msg = InstanceType<typeof Message>;

const WATCHER_NAME = "org.kde.StatusNotifierWatcher";
const WATCHER_PATH = "/StatusNotifierWatcher";
const WATCHER_IFACE = "org.kde.StatusNotifierWatcher";
const PROPS_IFACE = "org.freedesktop.DBus.Properties";
const ITEM_IFACE = "org.kde.StatusNotifierItem";
const MENU_IFACE = "com.canonical.dbusmenu";

export interface TrayItem {
  owner: string;
  path: string;
}

export interface MenuEntry {
  id: number;
  label: string;
  type: string;
  enabled: boolean;
}

type Layout = [number, Record<string, InstanceType<typeof Variant>>, InstanceType<typeof Variant>[]];

export class TrayHost {
  readonly items: TrayItem[] = [];
  private readonly bus = dbus.sessionBus();

  static async start(): Promise<TrayHost> {
    const host = new TrayHost();
    host.bus.addMethodHandler((msg: Msg) => host.handle(msg));
    const reply = await host.bus.requestName(WATCHER_NAME, dbus.NameFlag.DO_NOT_QUEUE);
    if (reply !== dbus.RequestNameReply.PRIMARY_OWNER) {
      throw new Error(`could not own ${WATCHER_NAME} (reply ${reply})`);
    }
    host.bus.send(Message.newSignal(WATCHER_PATH, WATCHER_IFACE, "StatusNotifierHostRegistered"));
    return host;
  }

  stop(): void {
    this.bus.disconnect();
  }

  private properties(): Record<string, InstanceType<typeof Variant>> {
    return {
      RegisteredStatusNotifierItems: new Variant("as", this.items.map((i) => `${i.owner}${i.path}`)),
      IsStatusNotifierHostRegistered: new Variant("b", true),
      ProtocolVersion: new Variant("i", 0),
    };
  }

  private handle(msg: Msg): boolean {
    if (msg.path !== WATCHER_PATH) return false;
    const reply = (signature = "", body: unknown[] = []) => {
      this.bus.send(Message.newMethodReturn(msg, signature, body));
      return true;
    };
    if (msg.interface === WATCHER_IFACE && msg.member === "RegisterStatusNotifierItem") {
      const service = String(msg.body[0]);
      // The argument is an object path on the caller's connection, or a bus name.
      const item = service.startsWith("/")
        ? { owner: msg.sender, path: service }
        : { owner: service, path: "/StatusNotifierItem" };
      this.items.push(item);
      reply();
      this.bus.send(
        Message.newSignal(WATCHER_PATH, WATCHER_IFACE, "StatusNotifierItemRegistered", "s", [
          `${item.owner}${item.path}`,
        ]),
      );
      return true;
    }
    if (msg.interface === WATCHER_IFACE && msg.member === "RegisterStatusNotifierHost") {
      return reply();
    }
    if (msg.interface === PROPS_IFACE && msg.member === "Get") {
      const value = this.properties()[String(msg.body[1])];
      if (value === undefined) return false;
      return reply("v", [value]);
    }
    if (msg.interface === PROPS_IFACE && msg.member === "GetAll") {
      return reply("a{sv}", [this.properties()]);
    }
    return false;
  }

  /** The newest item whose owner is still on the bus. */
  async waitForItem(timeoutMs = 15_000): Promise<TrayItem> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const item of [...this.items].reverse()) {
        if (await this.hasOwner(item.owner)) return item;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no tray item registered within ${timeoutMs} ms`);
  }

  private async call(destination: string, path: string, iface: string, member: string, signature = "", body: unknown[] = []) {
    const reply = await this.bus.call(new Message({ destination, path, interface: iface, member, signature, body }));
    return reply?.body ?? [];
  }

  async hasOwner(name: string): Promise<boolean> {
    const [owned] = await this.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner", "s", [name]);
    return owned === true;
  }

  async itemProperty(item: TrayItem, name: string): Promise<unknown> {
    const [value] = await this.call(item.owner, item.path, PROPS_IFACE, "Get", "ss", [ITEM_IFACE, name]);
    return (value as InstanceType<typeof Variant>).value;
  }

  /** The item's menu, flattened, as a panel would show it. */
  async menu(item: TrayItem): Promise<MenuEntry[]> {
    const menuPath = String(await this.itemProperty(item, "Menu"));
    const [, layout] = await this.call(item.owner, menuPath, MENU_IFACE, "GetLayout", "iias", [0, -1, []]);
    const entries: MenuEntry[] = [];
    const walk = ([id, props, children]: Layout) => {
      if (id !== 0) {
        entries.push({
          id,
          label: String(props.label?.value ?? "").replace(/_/g, ""),
          type: String(props.type?.value ?? "standard"),
          enabled: props.enabled?.value !== false,
        });
      }
      children.forEach((child) => { walk(child.value as Layout); });
    };
    walk(layout as Layout);
    return entries;
  }

  /** Clicks a menu entry the way a panel does. */
  async click(item: TrayItem, entryId: number): Promise<void> {
    const menuPath = String(await this.itemProperty(item, "Menu"));
    await this.call(item.owner, menuPath, MENU_IFACE, "Event", "isvu", [
      entryId,
      "clicked",
      new Variant("i", 0),
      Math.floor(Date.now() / 1000),
    ]);
  }
}
