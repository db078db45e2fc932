/** The production build served by `vite preview` (COOP/COEP like a real host) for the bench and the soak. */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export interface PreviewServer {
  origin: string;
  stop(): void;
}

export async function startPreview(port: number): Promise<PreviewServer> {
  const origin = `http://127.0.0.1:${port}`;
  // Something already answering on the port would be measured instead of this build: refuse.
  if (
    await fetch(origin).then(
      () => true,
      () => false,
    )
  ) {
    throw new Error(`Port ${port} is already in use (a vite preview left over from an earlier run?): stop it first, e.g. \`fuser -k ${port}/tcp\`.`);
  }
  // vite itself (not through npx, whose child outlives a kill), in its own process group so the whole group stops.
  const server = spawn(resolve(import.meta.dirname, '../node_modules/.bin/vite'), ['preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
    stdio: 'ignore',
    detached: true,
  });
  const stop = () => {
    try {
      if (server.pid) process.kill(-server.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  };
  process.once('SIGINT', () => {
    stop();
    process.exit(130);
  });
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(origin).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { origin, stop };
    await new Promise((r) => setTimeout(r, 200));
  }
  stop();
  throw new Error('vite preview did not start');
}
