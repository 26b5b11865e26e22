// The fleet simulator's answers to its Prometheus's scrapes (ADR 0065). A busy simulator answers late; Prometheus
// gives up at its scrape timeout and asks again an interval later, while the abandoned requests still wait in the
// simulator: a scrape whose client has gone is not rendered, and one within half a scrape timeout of the cluster's
// last rendering gets that one, so a backlog of scrapes never adds work to a process already behind.

/** What the answer to one scrape needs to know of it. */
export interface Scrape {
  /** Prometheus's `X-Prometheus-Scrape-Timeout-Seconds` (0 when absent) */
  readonly timeoutSeconds: number;
  /** the client closed the connection before it was answered */
  readonly clientGone: boolean;
}

/** An answer per cluster and scrape, rendering with `render` only when a fresh one is worth it. */
export function scrapeAnswers(
  render: (cluster: string, nowMs: number) => string,
  clock: () => number = Date.now,
): (cluster: string, scrape: Scrape) => string {
  const rendered = new Map<string, { at: number; text: string }>();
  return (cluster, scrape) => {
    const last = rendered.get(cluster);
    if (last !== undefined && (scrape.clientGone || clock() - last.at < (scrape.timeoutSeconds * 1000) / 2))
      return last.text;
    const at = clock();
    const text = render(cluster, at);
    rendered.set(cluster, { at, text });
    return text;
  };
}
