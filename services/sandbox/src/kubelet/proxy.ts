import { createServer, connect, type Server, type Socket } from 'node:net';

export interface Backend {
  ip: string;
  port: number;
}

interface Listener {
  server: Server;
  backends: Backend[];
  cursor: number;
  sockets: Set<Socket>;
}

/**
 * TCP forwarding in the role of kube-proxy: one listener per exposed address and port, each
 * connection goes round-robin to the current ready endpoints, and is closed straight away when
 * there are none (what a client of a Service without endpoints sees with iptables REJECT).
 */
export class ServiceProxy {
  private readonly listeners = new Map<string, Listener>();
  private readonly failures = new Map<string, string>();

  /** Ensures exactly the given listeners exist, with their backends updated in place. */
  async sync(wanted: Map<string, { host: string; port: number; backends: Backend[] }>): Promise<void> {
    for (const [key, listener] of this.listeners) {
      if (!wanted.has(key)) {
        this.listeners.delete(key);
        await closeListener(listener);
      }
    }
    for (const [key, target] of wanted) {
      const existing = this.listeners.get(key);
      if (existing) {
        existing.backends = target.backends;
        continue;
      }
      const listener: Listener = { server: createServer(), backends: target.backends, cursor: 0, sockets: new Set() };
      listener.server.on('connection', (client) => this.forward(listener, client));
      try {
        await new Promise<void>((resolve, reject) => {
          listener.server.once('error', reject);
          listener.server.listen(target.port, target.host, () => {
            listener.server.off('error', reject);
            resolve();
          });
        });
        this.listeners.set(key, listener);
        this.failures.delete(key);
      } catch (error) {
        this.failures.set(key, error instanceof Error ? error.message : String(error));
      }
    }
  }

  listenerFailures(): Map<string, string> {
    return new Map(this.failures);
  }

  private forward(listener: Listener, client: Socket): void {
    const backends = listener.backends;
    if (backends.length === 0) {
      client.destroy();
      return;
    }
    const backend = backends[listener.cursor++ % backends.length];
    const upstream = connect({ host: backend.ip, port: backend.port });
    listener.sockets.add(client);
    listener.sockets.add(upstream);
    const cleanup = (): void => {
      client.destroy();
      upstream.destroy();
      listener.sockets.delete(client);
      listener.sockets.delete(upstream);
    };
    client.on('error', cleanup);
    upstream.on('error', cleanup);
    client.on('close', cleanup);
    upstream.on('close', cleanup);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async close(): Promise<void> {
    const all = [...this.listeners.values()];
    this.listeners.clear();
    await Promise.all(all.map(closeListener));
  }
}

function closeListener(listener: Listener): Promise<void> {
  for (const socket of listener.sockets) socket.destroy();
  listener.sockets.clear();
  return new Promise((resolve) => listener.server.close(() => resolve()));
}
