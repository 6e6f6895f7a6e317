/**
 * Redis's MONITOR on a raw socket: every command Redis runs, as the words it ran. Not ioredis's `monitor()`: it
 * enters its monitoring state a tick after MONITOR's +OK, so monitored lines that arrive in the same read are taken
 * for replies with no command ("Command queue state error", unhandled; CI saw it on a busy Redis).
 */
import { connect } from 'node:net';

export interface Monitor {
  close(): void;
}

/** The words of one MONITOR line (`+1795714624.198098 [0 127.0.0.1:48940] "get" "key"` → ['get', 'key']). */
function words(line: string): string[] {
  const quoted = line.slice(line.indexOf(']') + 1).match(/"(?:[^"\\]|\\.)*"/g) ?? [];
  return quoted.map((q) => q.slice(1, -1).replace(/\\(.)/g, '$1'));
}

/** Starts monitoring the Redis at `url`; resolves once Redis said +OK (every later command is seen). */
export function monitorRedis(url: string, onCommand: (args: string[]) => void): Promise<Monitor> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port || 6379) });
  return new Promise((resolve, reject) => {
    let buffered = '';
    let started = false;
    socket.once('error', reject);
    socket.on('connect', () => socket.write('MONITOR\r\n'));
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      let end = buffered.indexOf('\r\n');
      while (end >= 0) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        end = buffered.indexOf('\r\n');
        if (!started) {
          if (line !== '+OK') return reject(new Error(`MONITOR answered ${line}`));
          started = true;
          resolve({ close: () => socket.destroy() });
        } else if (line.startsWith('+')) onCommand(words(line));
      }
    });
  });
}
