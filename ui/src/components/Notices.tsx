import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { Toast } from "radix-ui";
import { subscribe, useApi, type Notice } from "../api";

interface Shown extends Notice {
  id: number;
}

const NotifyContext = createContext<(notice: Notice) => void>(() => undefined);

/** Shows a toast from the UI itself (an attachment saved, an action that failed). */
export function useNotices(): (notice: Notice) => void {
  return useContext(NotifyContext);
}

/** Shows the core's notices (and the UI's own) as toasts, announced politely to screen readers. */
export function Notices({ children }: { children: ReactNode }) {
  const api = useApi();
  const [shown, setShown] = useState<Shown[]>([]);
  // Children (and so the first-paint report that releases held notices) wait until we
  // are subscribed, so no notice can slip past.
  const [listening, setListening] = useState(false);

  const nextId = useRef(0);
  const show = useCallback((notice: Notice) => {
    nextId.current += 1;
    const id = nextId.current;
    setShown((current) => [...current, { ...notice, id }]);
  }, []);

  useEffect(() => {
    return subscribe(
      () => api.onNotice(show),
      () => { setListening(true); },
    );
  }, [api, show]);

  const dismiss = (id: number) => {
    setShown((current) => current.filter((notice) => notice.id !== id));
  };

  return (
    <Toast.Provider duration={10_000} label="Notification">
      <NotifyContext.Provider value={show}>{listening && children}</NotifyContext.Provider>
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
