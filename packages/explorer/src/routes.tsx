/** The explorer's pages by URL. */
import type { RouteObject } from "react-router";
import { Problem } from "./components/common";
import { RouteError } from "./components/errors";
import { JobPage } from "./pages/job";
import { ModelPage } from "./pages/model";
import { OperatorPage, OperatorsPage } from "./pages/operator";

function NoSuchPage() {
  return (
    <Problem title="No such page" kind="no-page">
      <p>
        The explorer has a network page (<span className="mono">/</span>), job pages (
        <span className="mono">/job/&lt;0x id | decimal id | #request-number&gt;</span>, or{" "}
        <span className="mono">/job/nonce/&lt;n&gt;</span>), model pages (
        <span className="mono">/model/&lt;id&gt;</span>), the operators (<span className="mono">/operators</span>) and
        address pages (<span className="mono">/address/&lt;0x address&gt;</span>).
      </p>
    </Problem>
  );
}

export const routes: RouteObject[] = [
  {
    // Errors of a page are shown in place of the page, under the header.
    errorElement: <RouteError />,
    children: [
      // The network page alone draws charts: Chart.js comes in its own chunk, loaded when it is first opened.
      { index: true, lazy: async () => ({ Component: (await import("./pages/network")).NetworkPage }) },
      { path: "job", element: <JobPage /> },
      { path: "job/nonce/:nonce", element: <JobPage /> },
      { path: "job/:id", element: <JobPage /> },
      { path: "model/:id", element: <ModelPage /> },
      { path: "operators", element: <OperatorsPage /> },
      { path: "address/:address", element: <OperatorPage /> },
      { path: "*", element: <NoSuchPage /> },
    ],
  },
];
