// Where keyboard focus goes when a dialog closes or the screen changes. WebKit does not
// focus a button that is clicked, and the button that opened something may be gone when
// it closes (the empty state's Add account, a removed account's row), so focus is put
// back explicitly instead of falling to <body>.
import { useEffect } from "react";

/** Focuses the first of `selectors` that matches a connected element; true if one did. */
export function focusFirst(...selectors: string[]): boolean {
  for (const selector of selectors) {
    const element = document.querySelector<HTMLElement>(selector);
    if (element?.isConnected) {
      element.focus();
      return true;
    }
  }
  return false;
}

/**
 * For Radix's `onCloseAutoFocus`: focus goes to the first of `selectors` that exists,
 * instead of wherever the dialog's opener was (often `<body>` in WebKit).
 */
export function returnFocusTo(...selectors: string[]) {
  return (event: Event) => {
    if (focusFirst(...selectors)) event.preventDefault();
  };
}

/** The Accounts heading, a last resort that is always on the accounts screen. */
export const ACCOUNTS_HEADING = "#accounts-title";

/**
 * Keeps focus from being lost when the element holding it disappears (a list reloads, an
 * empty state gives way to the first row): focus moves to the first of `selectors` that
 * exists. Runs for as long as the calling component is mounted.
 */
export function useFocusRescue(selectors: string[]): void {
  const key = selectors.join("\n");
  useEffect(() => {
    const wanted = key.split("\n");
    let last: Element | null = document.activeElement;
    const onFocusIn = (event: FocusEvent) => {
      last = event.target instanceof Element ? event.target : null;
    };
    const observer = new MutationObserver(() => {
      const lost = last !== null && last !== document.body && !last.isConnected;
      const nowhere = document.activeElement === null || document.activeElement === document.body;
      if (lost && nowhere) {
        last = null;
        focusFirst(...wanted);
      }
    });
    document.addEventListener("focusin", onFocusIn);
    observer.observe(document.body, { childList: true, subtree: true });
    return () => {
      document.removeEventListener("focusin", onFocusIn);
      observer.disconnect();
    };
  }, [key]);
}
