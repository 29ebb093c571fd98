// The apiserver's side of the tunnel (konnectivity-client in grpc mode over the unix socket):
// one single-use gRPC stream per connection. DIAL_REQ with a random id, the DIAL_RSP names the
// connection; DATA both ways; CLOSE_REQ ends it and the CLOSE_RSP confirms. A dial that the
// server or agent refuses fails with their error, as the apiserver reports it.
import { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { joinHostPort, randomDialId, readPacket, services, type Packet, type PacketStream } from './protocol.js';

/** The konnectivity-client's backstop for a DIAL_RSP. */
const DIAL_TIMEOUT_MS = 30_000;
/** How long a close waits for the CLOSE_RSP before dropping the stream anyway. */
const CLOSE_TIMEOUT_MS = 10_000;

export class TunnelDialError extends Error {}

class TunnelConnection extends Duplex {
  private closeRequested = false;

  constructor(
    private readonly stream: PacketStream,
    private readonly client: grpc.Client,
    private readonly connectId: string,
  ) {
    super({ allowHalfOpen: false });
    stream.on('data', (raw: unknown) => {
      const packet = readPacket(raw);
      if (!packet) return;
      if (packet.type === 'DATA' && packet.data.connectID === connectId) {
        if (!this.push(packet.data.data)) stream.pause();
      } else if (packet.type === 'CLOSE_RSP' && packet.closeResponse.connectID === connectId) {
        this.push(null);
        this.release();
      }
    });
    const lost = (): void => {
      this.push(null);
      this.release();
    };
    stream.on('error', lost);
    stream.on('end', lost);
  }

  override _read(): void {
    this.stream.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.stream.writable) return callback(new Error('tunnel closed'));
    const packet: Packet = { type: 'DATA', data: { connectID: this.connectId, error: '', data: chunk } };
    this.stream.write(packet, () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.requestClose();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.requestClose();
    callback(error);
  }

  /** CLOSE_REQ, then the stream goes once the CLOSE_RSP came (or the backstop passed). */
  private requestClose(): void {
    if (this.closeRequested) return;
    this.closeRequested = true;
    if (this.stream.writable) this.stream.write({ type: 'CLOSE_REQ', closeRequest: { connectID: this.connectId } });
    setTimeout(() => this.release(), CLOSE_TIMEOUT_MS).unref();
  }

  private released = false;
  private release(): void {
    if (this.released) return;
    this.released = true;
    this.stream.cancel();
    this.client.close();
  }
}

/** A byte stream to host:port on the node network, through the konnectivity server at udsPath. */
export function dialThroughTunnel(udsPath: string, host: string, port: number, options: { timeoutMs?: number } = {}): Promise<Duplex> {
  const { ProxyService } = services();
  const client = new ProxyService(`unix:${udsPath}`, grpc.credentials.createInsecure());
  const stream = (client as unknown as { Proxy(): PacketStream }).Proxy();
  const random = randomDialId();
  return new Promise<Duplex>((resolve, reject) => {
    let settled = false;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.removeListener('data', onData);
      stream.cancel();
      client.close();
      reject(new TunnelDialError(message));
    };
    const timer = setTimeout(() => {
      if (stream.writable) stream.write({ type: 'DIAL_CLS', closeDial: { random } });
      fail('dial timeout, backstop');
    }, options.timeoutMs ?? DIAL_TIMEOUT_MS);
    const onData = (raw: unknown): void => {
      const packet = readPacket(raw);
      if (!packet || settled) return;
      if (packet.type === 'DIAL_CLS' && packet.closeDial.random === random) return fail('dial closed');
      if (packet.type !== 'DIAL_RSP' || packet.dialResponse.random !== random) return;
      if (packet.dialResponse.error) return fail(packet.dialResponse.error);
      settled = true;
      clearTimeout(timer);
      stream.removeListener('data', onData);
      stream.removeListener('error', onError);
      stream.removeListener('end', onEnd);
      stream.pause();
      resolve(new TunnelConnection(stream, client, packet.dialResponse.connectID));
    };
    const onError = (error: Error): void => fail(error.message);
    const onEnd = (): void => fail('tunnel closed');
    stream.on('data', onData);
    stream.on('error', onError);
    stream.on('end', onEnd);
    stream.write({ type: 'DIAL_REQ', dialRequest: { protocol: 'tcp', address: joinHostPort(host, port), random } });
  });
}
