/**
 * What the page shows when rendering throws: a readable message, never a blank page or a stack trace. The router's
 * error elements catch errors in pages (RouteError); ErrorBoundary catches anything outside the router.
 */
import { Component, type ErrorInfo, type ReactNode } from "react";
import { isRouteErrorResponse, useRouteError } from "react-router";
import { describeError } from "../chain";

function messageOf(error: unknown): string {
  if (isRouteErrorResponse(error)) return `${error.status} ${error.statusText}`;
  return describeError(error);
}

function Failure({ error, reset }: { error: unknown; reset?: () => void }) {
  return (
    <div className="problem" role="alert" data-testid="error-boundary">
      <h1>This page could not be shown</h1>
      <p data-testid="error-message">{messageOf(error)}</p>
      <p>
        {reset ? (
          <button type="button" onClick={reset}>
            Try again
          </button>
        ) : (
          <button type="button" onClick={() => window.location.reload()}>
            Reload
          </button>
        )}{" "}
        or go to <a href="/">the network page</a>.
      </p>
    </div>
  );
}

/** The router's error element for pages: keeps the header, shows what went wrong. */
export function RouteError() {
  const error = useRouteError();
  console.warn("explorer: a page failed to render", error);
  return <Failure error={error} />;
}

export class ErrorBoundary extends Component<{ children: ReactNode }, { error: unknown; failed: boolean }> {
  state = { error: undefined as unknown, failed: false };

  static getDerivedStateFromError(error: unknown) {
    return { error, failed: true };
  }

  componentDidCatch(error: unknown, info: ErrorInfo) {
    console.warn("explorer: rendering failed", error, info.componentStack);
  }

  render() {
    if (this.state.failed) {
      return <Failure error={this.state.error} reset={() => this.setState({ error: undefined, failed: false })} />;
    }
    return this.props.children;
  }
}
