import { useEffect, useState, type ReactNode } from "react";
import { Toast } from "radix-ui";
import { subscribe, useApi, type Notice } from "../api";

interface Shown extends Notice {
  id: number;
}

/** Shows the core's notices as toasts, announced politely to screen readers. */
export function Notices({ children }: { children: ReactNode }) {
  const api = useApi();
  const [shown, setShown] = useState<Shown[]>([]);
  // Children (and so the first-paint report that releases held notices) wait until we
  // are subscribed, so no notice can slip past.
  const [listening, setListening] = useState(false);

  useEffect(() => {
    let nextId = 0;
    return subscribe(
      () =>
        api.onNotice((notice) => {
          nextId += 1;
          const id = nextId;
          setShown((current) => [...current, { ...notice, id }]);
        }),
      () => { setListening(true); },
    );
  }, [api]);

  const dismiss = (id: number) => {
    setShown((current) => current.filter((notice) => notice.id !== id));
  };

  return (
    <Toast.Provider duration={10_000} label="Notification">
      {listening && children}
      {shown.map((notice) => (
        <Toast.Root
          key={notice.id}
          className={`toast toast-${notice.level}`}
          data-testid="notice"
          onOpenChange={(open) => { if (!open) dismiss(notice.id); }}
        >
          <Toast.Description>{notice.message}</Toast.Description>
          <Toast.Close className="toast-close" aria-label="Dismiss" data-testid="notice-dismiss">
            ×
          </Toast.Close>
        </Toast.Root>
      ))}
      <Toast.Viewport className="toast-viewport" />
    </Toast.Provider>
  );
}
