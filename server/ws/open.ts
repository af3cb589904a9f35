// Opening a WebSocket as a client, its messages listened for from the start.
// ws emits a frame that came in the handshake's own read (a console hub sends
// its recent output at once) on the tick after 'open', before an `await` of
// the open resumes: a 'message' listener added after that await misses it.
import WebSocket, { type ClientOptions, type RawData } from 'ws';

export interface OpenWsOptions extends ClientOptions {
  protocols?: string[];
  /** The error a refused upgrade rejects with, from its HTTP status. */
  refused?: (status: number) => Error;
}

/** A message's bytes as one Buffer (ws gives a Buffer, fragments or an ArrayBuffer by its binaryType). */
export function rawBytes(data: RawData): Buffer {
  return Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

/** Resolves once open; onMessage has every frame, the first included. */
export function openWs(url: string, onMessage: (data: RawData, isBinary: boolean) => void, options: OpenWsOptions = {}): Promise<WebSocket> {
  const { protocols = [], refused, ...client } = options;
  const ws = new WebSocket(url, protocols, client);
  ws.on('message', onMessage);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => {
      req.destroy();
      reject(refused ? refused(res.statusCode ?? 0) : new Error(`the server answered ${res.statusCode}`));
    });
  });
}
