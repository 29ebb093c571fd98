// Server-Sent Events over fetch. The browser's EventSource cannot send an Authorization
// header, and a token in the URL would end up in logs and history, so the portal reads the
// documented `…/events/stream` with fetch and parses the text/event-stream format itself,
// resuming with Last-Event-ID after a drop as EventSource would.

export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

export interface SseOptions {
  url: string;
  headers: Record<string, string>;
  onMessage: (message: SseMessage) => void;
  onStateChange?: (state: 'connecting' | 'open' | 'retrying') => void;
  /** A non-2xx answer that retrying will not fix (401, 403, 404). */
  onFatal?: (status: number) => void;
}

/** Parses complete events out of `buffer`; returns them and the unconsumed rest. */
export function parseSseChunk(buffer: string): { messages: Array<SseMessage & { retry?: number }>; rest: string } {
  const messages: Array<SseMessage & { retry?: number }> = [];
  const normalized = buffer.replace(/\r\n?/g, '\n');
  const blocks = normalized.split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    const data: string[] = [];
    let id: string | undefined;
    let retry: number | undefined;
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
      else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
    }
    if (data.length > 0) messages.push({ event, data: data.join('\n'), id, retry });
    else if (retry !== undefined) messages.push({ event: '', data: '', retry });
  }
  return { messages, rest };
}

/** Opens the stream and keeps it open until the returned function is called. */
export function openEventStream(options: SseOptions): () => void {
  const controller = new AbortController();
  let lastEventId: string | undefined;
  let retryMs = 2000;

  const run = async () => {
    while (!controller.signal.aborted) {
      options.onStateChange?.('connecting');
      try {
        const headers: Record<string, string> = { ...options.headers, accept: 'text/event-stream' };
        if (lastEventId) headers['last-event-id'] = lastEventId;
        const response = await fetch(options.url, { headers, signal: controller.signal, cache: 'no-store' });
        if (response.status === 401 || response.status === 403 || response.status === 404) {
          await response.body?.cancel();
          options.onFatal?.(response.status);
          return;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        options.onStateChange?.('open');
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          const { messages, rest } = parseSseChunk(buffer);
          buffer = rest;
          for (const message of messages) {
            if (message.retry !== undefined) retryMs = message.retry;
            if (message.id) lastEventId = message.id;
            if (message.event) options.onMessage(message);
          }
        }
      } catch {
        if (controller.signal.aborted) return;
      }

      if (controller.signal.aborted) return;
      options.onStateChange?.('retrying');
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  };
  void run();
  return () => controller.abort();
}
