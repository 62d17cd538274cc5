// Runs in Node before the workerd tests: starts stand-ins.ts in a tsx child (the Workers plugin cannot load pg or
// ioredis here), which migrates the test database and starts the stand-ins; vitest.workers.config.ts binds them.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

interface StandIns {
  neonFetchEndpoint: string;
  upstashUrl: string;
  upstashToken: string;
  kafkaUrl: string;
  kafkaUsername: string;
  kafkaPassword: string;
  webhookReceiverUrl: string;
  otlpReceiverUrl: string;
}

const START_TIMEOUT_MS = 60_000;

export default async function setup(project: TestProject) {
  const tsx = createRequire(import.meta.url).resolve('tsx/cli');
  const script = fileURLToPath(new URL('./stand-ins.ts', import.meta.url));
  const child = spawn(process.execPath, [tsx, script], { stdio: ['pipe', 'pipe', 'inherit'], env: process.env });

  const settings = await new Promise<StandIns>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('stand-ins did not start in time')), START_TIMEOUT_MS);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as StandIns);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`stand-ins exited with code ${code} before starting (see stderr above)`));
    });
    child.on('error', reject);
  });

  project.provide('neonFetchEndpoint', settings.neonFetchEndpoint);
  project.provide('upstashUrl', settings.upstashUrl);
  project.provide('upstashToken', settings.upstashToken);
  project.provide('kafkaUrl', settings.kafkaUrl);
  project.provide('kafkaUsername', settings.kafkaUsername);
  project.provide('kafkaPassword', settings.kafkaPassword);
  project.provide('webhookReceiverUrl', settings.webhookReceiverUrl);
  project.provide('otlpReceiverUrl', settings.otlpReceiverUrl);

  return async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    neonFetchEndpoint: string;
    upstashUrl: string;
    upstashToken: string;
    kafkaUrl: string;
    kafkaUsername: string;
    kafkaPassword: string;
    webhookReceiverUrl: string;
    otlpReceiverUrl: string;
  }
}
