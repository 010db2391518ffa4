import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter } from "react-router";
import { RouterProvider } from "react-router/dom";
import { Root } from "./app";
import { ErrorBoundary, RouteError } from "./components/errors";
import { routes } from "./routes";
import "./style.css";

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A local node is "online" even when the browser thinks it is offline.
      networkMode: "always",
      // Views are read again every 2 s anyway; a failed read is not retried at once (the banner says so).
      retry: false,
      refetchOnWindowFocus: false,
      // Views hold bigints and ethers Results: keep them as read, do not deep-compare them.
      structuralSharing: false,
    },
    mutations: { networkMode: "always" },
  },
});

const router = createBrowserRouter([{ element: <Root />, errorElement: <RouteError />, children: routes }]);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ErrorBoundary>
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </ErrorBoundary>
  </StrictMode>,
);
