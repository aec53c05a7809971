/**
 * Debian's Mosquitto broker (/usr/sbin/mosquitto) on a free loopback port, for the iot e2e test
 * and `bench/iot.ts --broker mosquitto`: a real broker that is not the embedded aedes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { freePorts } from '../../src/cli/init-network.ts';

/** A running Mosquitto; the caller ends `proc`. */
export interface Mosquitto {
  url: string;
  port: number;
  proc: ChildProcess;
}

/** Start Mosquitto with its config in `dir`; resolves once its port accepts connections. */
export async function startMosquitto(dir: string): Promise<Mosquitto> {
  const [port] = await freePorts(1);
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const proc = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const open = await new Promise<boolean>((r) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.end();
        r(true);
      });
      c.on('error', () => r(false));
    });
    if (open) return { url: `mqtt://127.0.0.1:${port}`, port, proc };
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGTERM');
  throw new Error(`mosquitto did not open port ${port} within 10 s`);
}
