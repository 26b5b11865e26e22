import { describe, expect, it } from 'vitest';
import { EventStreamReader } from './event-stream-reader.js';

describe('EventStreamReader', () => {
  it('reads events split anywhere across chunks, skipping comments, joining data lines, any line ending', () => {
    const text =
      ': hello\n\nid: 1\nevent: transition\ndata: {"a":\ndata: 1}\n\n: keep-alive\r\n\r\ndata:x\r\rdata: y\n\n';
    for (let size = 1; size <= text.length; size++) {
      const reader = new EventStreamReader();
      const events = [];
      for (let i = 0; i < text.length; i += size) events.push(...reader.push(text.slice(i, i + size)));
      expect(events, `chunks of ${size}`).toEqual([
        { event: 'transition', data: '{"a":\n1}', id: '1' },
        { event: 'message', data: 'x', id: '1' },
        { event: 'message', data: 'y', id: '1' },
      ]);
    }
  });
});
