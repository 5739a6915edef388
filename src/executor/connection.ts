/**
 * One transport per host for the whole run, created and connected lazily at the host's first remote task,
 * closed once at the end (also on abort and on exceptions).
 */
import { closeTransports, type Transport, type TransportFactory } from '../transport/types.js';

export class TransportPool {
  private readonly transports = new Map<string, Transport>();
  private readonly connecting = new Map<string, Promise<Transport>>();

  constructor(private readonly factory: TransportFactory) {}

  /** The host's connected transport. Throws ConnectError/AuthError/HostKeyError (every call, once failed). */
  get(host: string, hostVars: Record<string, unknown>): Promise<Transport> {
    let p = this.connecting.get(host);
    if (!p) {
      p = (async () => {
        let t = this.transports.get(host);
        if (!t) {
          t = this.factory.create(host, hostVars);
          this.transports.set(host, t);
        }
        await t.connect();
        return t;
      })();
      this.connecting.set(host, p);
    }
    return p;
  }

  /** Hosts whose transport was created. */
  hosts(): string[] {
    return [...this.transports.keys()];
  }

  /** Close every transport; never throws. */
  async closeAll(): Promise<void> {
    await closeTransports(this.transports.values());
  }
}
