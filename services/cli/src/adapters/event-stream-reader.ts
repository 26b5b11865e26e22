/** One server-sent event: its `event` field (`message` when none), its data lines joined, its id. */
export interface ServerSentEvent {
  readonly event: string;
  readonly data: string;
  readonly id?: string;
}

/**
 * Reads the `text/event-stream` format (WHATWG HTML, "server-sent events") from chunks as they arrive: a field
 * per line, a blank line ends an event, a line starting with `:` is a comment (the planner's keep-alive).
 * Chunks may split lines anywhere; what is left of a line waits for the next chunk.
 */
export class EventStreamReader {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;

  push(chunk: string): ServerSentEvent[] {
    this.buffer += chunk;
    const events: ServerSentEvent[] = [];
    let end: number;
    while ((end = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + (this.buffer.startsWith('\r\n', end) ? 2 : 1));
      if (line === '') {
        if (this.data.length > 0)
          events.push({
            event: this.event || 'message',
            data: this.data.join('\n'),
            ...(this.id === undefined ? {} : { id: this.id }),
          });
        this.data = [];
        this.event = '';
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') this.data.push(value);
      else if (field === 'event') this.event = value;
      else if (field === 'id') this.id = value;
    }
    return events;
  }
}
