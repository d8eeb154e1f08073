import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { startedEarly, tauriApi } from "./api";
import "./styles.css";

const root = document.getElementById("root");
if (root === null) {
  throw new Error("index.html has no #root element");
}
const api = startedEarly(tauriApi);
createRoot(root).render(
  <StrictMode>
    <App api={api} />
  </StrictMode>,
);
