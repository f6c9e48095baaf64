// Renders a preview of the Grafana dashboard docs/grafana/changeledger.json to
// docs/grafana/changeledger-preview.png, without Grafana: it starts a real engine (embedded
// database, webhook channels to local receivers, one flaky and one gone), drives change-sets
// through their life over HTTP with some refusals, scrapes /metrics every second, evaluates each
// panel's PromQL (the few forms the dashboard uses) over those scrapes, draws the panels as
// HTML/SVG laid out by their gridPos, and screenshots that page in headless Chromium.
//
//   node --import tsx scripts/render-grafana-preview.ts [--seconds 40] [--out docs/grafana/changeledger-preview.png]
//
// The time axis is the minute the script ran, and rates are over the last 5 s of scrapes rather
// than the dashboard's 5 m: a preview of what the panels show, not a recording of production.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { parseConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import { parseSamples, type Sample } from './prometheus-text.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '40' },
    out: { type: 'string', default: join(ROOT, 'docs/grafana/changeledger-preview.png') },
    chromium: { type: 'string', default: process.env['CHANGELEDGER_CHROMIUM'] ?? '/usr/bin/chromium' },
  },
});
const SECONDS = Number(values.seconds);
/** Scrapes a rate looks back over (one per second). */
const RATE_WINDOW = 5;

interface Target {
  expr: string;
  legendFormat?: string;
}
interface Panel {
  id: number;
  type: 'stat' | 'timeseries';
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  fieldConfig: { defaults: { unit?: string; thresholds?: { steps: { color: string; value: number | null }[] } } };
  targets: Target[];
}
interface Scrape {
  at: number;
  samples: Sample[];
}
interface Series {
  legend: string;
  points: { at: number; value: number }[];
}

// ---- a real engine and some traffic ----

function receiver(answer: () => number, delayMs: () => number) {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () =>
      setTimeout(() => {
        res.statusCode = answer();
        res.end();
      }, delayMs()),
    );
  });
  return new Promise<{ close(): void; url: string }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ close: () => server.close(), url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` }),
    ),
  );
}

async function startEngine() {
  const dir = mkdtempSync(join(tmpdir(), 'changeledger-preview-'));
  const audit = await receiver(
    () => 200,
    () => 5 + Math.random() * 40,
  );
  const ops = await receiver(
    () => (Math.random() < 0.25 ? 500 : 200),
    () => 20 + Math.random() * 150,
  );
  const gone = await receiver(
    () => 503,
    () => 2,
  );
  const yaml = `
database: { data_dir: ${JSON.stringify(dir)} }
log_level: silent
limits: { write_requests_per_minute: 0 }
notifications:
  channels:
    audit-sink: { type: webhook, url: ${audit.url}, secret: whsec_c2VjcmV0LWZvci10aGUtcHJldmlldw== }
    ops: { type: webhook, url: ${ops.url}, events: [changeset.submitted, changeset.applied, changeset.rejected] }
    retired-hook: { type: webhook, url: ${gone.url}, events: [changeset.applied] }
  dispatcher: { poll_interval_ms: 200, max_attempts: 3, backoff_base_ms: 500, backoff_max_ms: 2000 }
`;
  const config = parseConfig(yaml, { env: {} });
  const server = await startServer({ ...config, server: { ...config.server, port: 0 } });
  const tokens: Record<string, string> = {};
  const people = [
    { id: 'Agent-D', kind: 'agent' as const, groups: [] },
    { id: 'alice', kind: 'human' as const, groups: [] },
    { id: 'olga', kind: 'human' as const, groups: ['operator'] },
  ];
  for (const p of people) {
    await server.engine.createPrincipal(
      null,
      { ...p, display_name: p.id, email: null, slack_id: null, risk: null, active: true },
      { withToken: false },
    );
    tokens[p.id] = (await server.engine.issueToken(null, p.id)).token;
  }
  const stop = async () => {
    await server.stop();
    for (const r of [audit, ops, gone]) r.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { url: server.url, tokens, stop };
}

async function traffic(url: string, tokens: Record<string, string>, until: number) {
  const call = (who: string, method: string, path: string, body?: unknown) =>
    fetch(`${url}/api/ledger${path}`, {
      method,
      headers: {
        authorization: `Bearer ${tokens[who]}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then((r) => r.json() as Promise<{ id?: string }>);
  let n = 0;
  while (Date.now() < until) {
    n += 1;
    const created = await call('Agent-D', 'POST', '/changesets', {
      change_set_id: `CS-PREVIEW-${n}`,
      title: `Tune setting ${n}`,
      agent_type: 'BACKEND',
      category: 'CONFIG_UPDATE',
      approval_chain: ['alice'],
      items: [
        { operation_type: 'CREATE', target_type: 'CONFIG', target_id: `config.preview.${n}`, after_state: { n } },
      ],
    });
    const id = created.id!;
    await call('Agent-D', 'POST', `/changesets/${id}/submit`);
    // Every fourth waits for approval to the end: the queue's oldest ages.
    if (n % 4 === 0) continue;
    if (n % 3 === 0) await call('Agent-D', 'POST', `/changesets/${id}/approve`, { decision: 'APPROVED' }); // refused
    if (n % 5 === 0) await call('olga', 'POST', `/changesets/${id}/apply`, { mode: 'ATOMIC' }); // refused: not approved
    if (n % 7 === 0) await call('Agent-D', 'POST', '/changesets', { title: 5 }); // refused: invalid
    if (n % 6 === 0) {
      await call('alice', 'POST', `/changesets/${id}/approve`, { decision: 'REJECTED', reason: 'not now' });
      continue;
    }
    await call('alice', 'POST', `/changesets/${id}/approve`, { decision: 'APPROVED' });
    await call('olga', 'POST', `/changesets/${id}/apply`, { mode: 'ATOMIC' });
    await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 250));
  }
}

// ---- PromQL: the forms the dashboard uses ----

function matchers(text: string | undefined): Record<string, string> {
  return Object.fromEntries([...(text ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}
const selects = (sample: Sample, name: string, wanted: Record<string, string>) =>
  sample.name === name && Object.entries(wanted).every(([k, v]) => sample.labels[k] === v);
const keyOf = (labels: Record<string, string>, by: readonly string[]) =>
  JSON.stringify(by.map((label) => labels[label] ?? ''));

/** Per group of `by`, the per-second increase of counter `name` between scrapes `from` and `to`. */
function increase(
  scrapes: Scrape[],
  from: number,
  to: number,
  name: string,
  wanted: Record<string, string>,
  by: string[],
) {
  const sums = (samples: Sample[]) => {
    const out = new Map<string, { labels: Record<string, string>; value: number }>();
    for (const s of samples.filter((s) => selects(s, name, wanted))) {
      const key = keyOf(s.labels, by);
      const entry = out.get(key) ?? { labels: s.labels, value: 0 };
      entry.value += s.value;
      out.set(key, entry);
    }
    return out;
  };
  const start = sums(scrapes[from]!.samples);
  const end = sums(scrapes[to]!.samples);
  const seconds = (scrapes[to]!.at - scrapes[from]!.at) / 1000 || 1;
  return [...end].map(([key, { labels, value }]) => ({
    labels,
    delta: value - (start.get(key)?.value ?? 0),
    seconds,
  }));
}

function quantile(q: number, buckets: { le: number; count: number }[]): number | null {
  const sorted = buckets.sort((a, b) => a.le - b.le);
  const all = sorted.at(-1)?.count ?? 0;
  if (all <= 0) return null;
  const rank = q * all;
  let previous = { le: 0, count: 0 };
  for (const bucket of sorted) {
    if (bucket.count >= rank) {
      if (bucket.le === Number.POSITIVE_INFINITY) return previous.le;
      const within = bucket.count - previous.count;
      return previous.le + ((bucket.le - previous.le) * (rank - previous.count)) / (within || 1);
    }
    previous = bucket;
  }
  return null;
}

const legendOf = (format: string | undefined, labels: Record<string, string>) =>
  (format ?? '').replace(/\{\{(\w+)\}\}/g, (_, label: string) => labels[label] ?? '') || 'value';

/** The target's series over the scrapes (each point at scrape i looks back RATE_WINDOW scrapes). */
function evaluate(target: Target, scrapes: Scrape[]): Series[] {
  const { expr } = target;
  const series = new Map<string, Series>();
  const point = (labels: Record<string, string>, at: number, value: number) => {
    const legend = legendOf(target.legendFormat, labels);
    const s = series.get(legend) ?? { legend, points: [] };
    s.points.push({ at, value });
    series.set(legend, s);
  };
  let m = /^histogram_quantile\(([\d.]+), sum by \(([\w, ]+)\) \(rate\((\w+)(\{[^}]*\})?\[\w+\]\)\)\)$/.exec(expr);
  if (m) {
    const by = m[2]!.split(',').map((s) => s.trim());
    const rest = by.filter((label) => label !== 'le');
    for (let i = RATE_WINDOW; i < scrapes.length; i++) {
      const groups = new Map<string, { labels: Record<string, string>; buckets: { le: number; count: number }[] }>();
      for (const { labels, delta } of increase(scrapes, i - RATE_WINDOW, i, m[3]!, matchers(m[4]), by)) {
        const key = keyOf(labels, rest);
        const group = groups.get(key) ?? { labels, buckets: [] };
        group.buckets.push({
          le: labels['le'] === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels['le']),
          count: delta,
        });
        groups.set(key, group);
      }
      for (const { labels, buckets } of groups.values()) {
        const value = quantile(Number(m[1]), buckets);
        if (value !== null) point(labels, scrapes[i]!.at, value);
      }
    }
    return [...series.values()];
  }
  m = /^sum by \(([\w, ]+)\) \(rate\((\w+)(\{[^}]*\})?\[\w+\]\)\)$/.exec(expr);
  if (m) {
    const by = m[1]!.split(',').map((s) => s.trim());
    for (let i = RATE_WINDOW; i < scrapes.length; i++) {
      for (const { labels, delta, seconds } of increase(scrapes, i - RATE_WINDOW, i, m[2]!, matchers(m[3]), by))
        point(labels, scrapes[i]!.at, delta / seconds);
    }
    return [...series.values()];
  }
  m = /^sum\(increase\((\w+)(\{[^}]*\})?\[\w+\]\)\)$/.exec(expr);
  if (m) {
    // The whole recording is shorter than the window: the increase since the first scrape.
    for (let i = 1; i < scrapes.length; i++) {
      const value = increase(scrapes, 0, i, m[1]!, matchers(m[2]), []).reduce((sum, g) => sum + g.delta, 0);
      point({}, scrapes[i]!.at, value);
    }
    return [...series.values()];
  }
  m = /^max\((\w+)(\{[^}]*\})?\)$/.exec(expr);
  if (m) {
    for (const scrape of scrapes) {
      const values = scrape.samples.filter((s) => selects(s, m![1]!, matchers(m![2]))).map((s) => s.value);
      if (values.length > 0) point({}, scrape.at, Math.max(...values));
    }
    return [...series.values()];
  }
  throw new Error(`the preview cannot evaluate ${expr}: add its form to scripts/render-grafana-preview.ts`);
}

// ---- drawing ----

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const PALETTE = ['#73bf69', '#f2cc0c', '#8ab8ff', '#ff780a', '#f2495c', '#5794f2', '#b877d9', '#705da0', '#37872d'];
const COLORS: Record<string, string> = { green: '#73bf69', orange: '#ff9830', red: '#f2495c' };

function format(value: number, unit: string | undefined): string {
  if (unit === 's') {
    if (value === 0) return '0 s';
    if (value >= 86_400) return `${(value / 86_400).toFixed(1)} day`;
    if (value >= 3_600) return `${(value / 3_600).toFixed(1)} hour`;
    if (value >= 60) return `${(value / 60).toFixed(1)} min`;
    if (value >= 1) return `${value.toFixed(2)} s`;
    return `${(value * 1000).toFixed(value < 0.01 ? 2 : 0)} ms`;
  }
  if (unit === 'reqps') return `${value.toFixed(value < 10 ? 2 : 0)} req/s`;
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

function statPanel(panel: Panel, series: Series[]): string {
  const value = series[0]?.points.at(-1)?.value ?? 0;
  const steps = panel.fieldConfig.defaults.thresholds?.steps ?? [{ color: 'green', value: null }];
  const step = [...steps].reverse().find((s) => s.value === null || value >= s.value)!;
  return `<div class="stat" style="color:${COLORS[step.color] ?? step.color}">${escapeHtml(format(value, panel.fieldConfig.defaults.unit))}</div>`;
}

function timeseriesPanel(
  panel: Panel,
  series: Series[],
  width: number,
  height: number,
  range: [number, number],
): string {
  const unit = panel.fieldConfig.defaults.unit;
  const w = width - 70;
  const h = height - 40;
  const max = Math.max(1e-9, ...series.flatMap((s) => s.points.map((p) => p.value))) * 1.1;
  const x = (at: number) => 60 + ((at - range[0]) / (range[1] - range[0] || 1)) * w;
  const y = (value: number) => 10 + h - (value / max) * h;
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const v = max * f;
      return `<line x1="60" x2="${60 + w}" y1="${y(v)}" y2="${y(v)}" class="grid"/><text x="55" y="${y(v) + 4}" class="axis" text-anchor="end">${escapeHtml(format(v, unit))}</text>`;
    })
    .join('');
  const ticks = [0, 0.5, 1]
    .map((f) => {
      const at = range[0] + f * (range[1] - range[0]);
      const label = new Date(at).toISOString().slice(11, 19);
      const anchor = f === 0 ? 'start' : f === 1 ? 'end' : 'middle';
      return `<text x="${x(at)}" y="${h + 26}" class="axis" text-anchor="${anchor}">${label}</text>`;
    })
    .join('');
  const lines = series
    .map((s, i) => {
      const d = s.points
        .map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`)
        .join(' ');
      return `<path d="${d}" fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="1.6"/>`;
    })
    .join('');
  const legend = series
    .map((s, i) => `<span><i style="background:${PALETTE[i % PALETTE.length]}"></i>${escapeHtml(s.legend)}</span>`)
    .join('');
  return `<svg width="${width}" height="${height}">${grid}${ticks}${lines}</svg><div class="legend">${legend || '<span>No data</span>'}</div>`;
}

function page(dashboard: { title: string; panels: Panel[] }, scrapes: Scrape[]): string {
  const COLUMN = 56;
  const ROW = 36;
  const range: [number, number] = [scrapes[RATE_WINDOW]?.at ?? scrapes[0]!.at, scrapes.at(-1)!.at];
  const panels = dashboard.panels
    .map((panel) => {
      const series = panel.targets.flatMap((target) => evaluate(target, scrapes));
      const width = panel.gridPos.w * COLUMN - 8;
      const height = panel.gridPos.h * ROW - 8;
      const body =
        panel.type === 'stat'
          ? statPanel(panel, series)
          : timeseriesPanel(panel, series, width - 16, height - 64, range);
      return `<section style="left:${panel.gridPos.x * COLUMN}px;top:${panel.gridPos.y * ROW}px;width:${width}px;height:${height}px"><h2>${escapeHtml(panel.title)}</h2>${body}</section>`;
    })
    .join('');
  const bottom = Math.max(...dashboard.panels.map((p) => (p.gridPos.y + p.gridPos.h) * ROW));
  return `<!doctype html><html><head><meta charset="utf-8"><style>
  body { margin: 0; background: #111217; color: #ccccdc; font: 13px Inter, Helvetica, Arial, sans-serif; }
  header { padding: 12px 16px; display: flex; justify-content: space-between; align-items: baseline; }
  header h1 { font-size: 18px; font-weight: 500; margin: 0; color: #d8d9da; }
  header small { color: #8e8e8e; }
  main { position: relative; margin: 0 16px; height: ${bottom}px; }
  section { position: absolute; background: #181b1f; border: 1px solid #2c3235; border-radius: 3px; padding: 8px; box-sizing: border-box; overflow: hidden; }
  h2 { font-size: 13px; font-weight: 500; margin: 0 0 6px; color: #d8d9da; }
  .stat { font-size: 38px; font-weight: 500; text-align: center; margin-top: 18px; }
  .grid { stroke: #2c3235; } .axis { fill: #8e8e8e; font-size: 10px; }
  .legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 11px; padding-left: 60px; }
  .legend i { display: inline-block; width: 12px; height: 3px; margin-right: 5px; vertical-align: middle; }
</style></head><body><header><h1>${escapeHtml(dashboard.title)}</h1><small>Preview rendering of docs/grafana/changeledger.json from a running engine's /metrics (not Grafana)</small></header><main>${panels}</main></body></html>`;
}

async function main() {
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'docs/grafana/changeledger.json'), 'utf8'));
  const engine = await startEngine();
  const scrapes: Scrape[] = [];
  const until = Date.now() + SECONDS * 1000;
  const scraping = (async () => {
    while (Date.now() < until + 2000) {
      const text = await (await fetch(`${engine.url}/metrics`)).text();
      scrapes.push({ at: Date.now(), samples: parseSamples(text) });
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
  await traffic(engine.url, engine.tokens, until);
  await scraping;
  await engine.stop();
  const html = page(dashboard, scrapes);
  const htmlPath = join(tmpdir(), 'changeledger-dashboard-preview.html');
  writeFileSync(htmlPath, html);
  const browser = await chromium.launch({
    executablePath: values.chromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const tab = await browser.newPage({ viewport: { width: 24 * 56 + 32, height: 900 } });
    await tab.setContent(html);
    await tab.screenshot({ path: values.out, fullPage: true });
  } finally {
    await browser.close();
  }
  console.log(`${scrapes.length} scrapes; wrote ${values.out} (page: ${htmlPath})`);
}

await main();
