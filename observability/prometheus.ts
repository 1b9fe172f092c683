// A real Prometheus (Debian's /usr/bin/prometheus) on 127.0.0.1 with a
// temporary config and TSDB, for tests and the testbed: started, waited for,
// and removed with its files on close().
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../testbed/free-port.js';

export interface ScrapeTarget {
  /** host:port */
  address: string;
  /** Extra target labels, e.g. { node: 'n1' }. */
  labels?: Record<string, string>;
}

export interface ScrapeJob {
  job: string;
  targets: ScrapeTarget[];
}

export interface PrometheusOptions {
  jobs: ScrapeJob[];
  /** Rule files to load (absolute paths), e.g. observability/alerts/talaria.rules.yaml. */
  ruleFiles?: string[];
  /** Scrape and rule evaluation interval; default 1s (tests want data quickly). */
  interval?: string;
  binary?: string;
}

export interface RunningPrometheus {
  /** e.g. http://127.0.0.1:40123 */
  readonly url: string;
  /** Resolves once every target is up (scraped successfully). */
  waitForTargets(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** The prometheus.yml for these jobs (exported for the testbed's own configs). */
export function prometheusConfig(opts: Pick<PrometheusOptions, 'jobs' | 'ruleFiles' | 'interval'>): string {
  const interval = opts.interval ?? '1s';
  return stringify({
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: opts.ruleFiles ?? [],
    scrape_configs: opts.jobs.map((j) => ({
      job_name: j.job,
      static_configs: j.targets.map((t) => ({ targets: [t.address], labels: t.labels ?? {} })),
    })),
  });
}

export async function startPrometheus(opts: PrometheusOptions): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'talaria-prometheus-'));
  let child: ChildProcess | undefined;
  // If this process dies without close(), take Prometheus and its files along.
  const onExit = (): void => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const cleanup = async (): Promise<void> => {
    process.off('exit', onExit);
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    writeFileSync(join(dir, 'prometheus.yml'), prometheusConfig(opts));
    const port = await freePort();
    let log = '';
    child = spawn(
      opts.binary ?? 'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-lifecycle',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr!.on('data', (c: Buffer) => {
      log = (log + c.toString()).slice(-4000);
    });
    const spawned = child;
    const exitedEarly = new Promise<never>((_, reject) => {
      spawned.once('error', (err) => reject(new Error(`prometheus did not start: ${err.message}`)));
      spawned.once('exit', (code) => reject(new Error(`prometheus exited (${code}) before it was ready:\n${log}`)));
    });
    exitedEarly.catch(() => undefined); // only observed while waiting for readiness
    const url = `http://127.0.0.1:${port}`;
    await Promise.race([poll(async () => (await fetch(`${url}/-/ready`)).ok, 30_000, 'prometheus ready'), exitedEarly]);
    return {
      url,
      waitForTargets: (timeoutMs = 30_000) =>
        poll(
          async () => {
            const res = (await (await fetch(`${url}/api/v1/targets`)).json()) as {
              data: { activeTargets: { health: string; lastScrape: string }[] };
            };
            const targets = res.data.activeTargets;
            return targets.length > 0 && targets.every((t) => t.health === 'up');
          },
          timeoutMs,
          'every target up',
        ),
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function poll(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

