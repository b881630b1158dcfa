/**
 * The built site in a real browser. `npm test` builds it first (`npm run
 * docs`), then this serves apps/docs/dist on localhost and, with Debian's
 * Chromium through playwright-core (headless, no network of its own):
 *
 * - crawls every page reachable from the home page and checks that every
 *   internal link, image, script and stylesheet resolves (no 404) and every
 *   `#fragment` names an element of its page;
 * - opens the home page, every guide and a few API pages and checks they
 *   render (a title, the navigation) with no console error or failed request;
 * - checks the performance charts render: each is an SVG with bars;
 * - searches for `searchVectors` with TypeDoc's search box and follows the
 *   first result to its API page;
 * - saves a screenshot of the home page (test-results/home.png).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM script without types
import { serve } from '../scripts/serve.mjs';

const docs = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(docs, 'dist');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const GUIDES = readdirSync(join(docs, 'guides')).filter((f) => f.endsWith('.md') && f !== 'index.md');

let site: { url: string; close: () => Promise<void> };
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(join(dist, 'index.html'))) throw new Error('apps/docs/dist/index.html is missing: `npm run docs` builds the site (npm test runs it first)');
  site = await serve(dist);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
});

afterAll(async () => {
  await browser?.close();
  await site?.close();
});

/** Opens `path` and collects console errors, page errors and failed or 4xx/5xx requests. */
async function open(path: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  const response = await page.goto(new URL(path, site.url).href, { waitUntil: 'load' });
  expect(response?.status(), path).toBe(200);
  return { page, problems };
}

/** The `documents/<name>.html` page TypeDoc made of each guide (by its title). */
function guidePages(): string[] {
  return readdirSync(join(dist, 'documents'))
    .filter((f) => f.endsWith('.html') && !/^Performance\.[^.]+\.html$/.test(f)) // not the benchmark tables under Performance
    .map((f) => `documents/${f}`);
}

describe('the docs site', () => {
  it('links, images, scripts and fragments all resolve (crawl from the home page)', { timeout: 120_000 }, async () => {
    const seen = new Set<string>();
    const queue = ['index.html'];
    const broken: string[] = [];
    const ids = new Map<string, Set<string>>();
    const fragments: Array<{ from: string; target: string; id: string }> = [];
    const idsOf = (html: string) => new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!));
    while (queue.length > 0) {
      const path = queue.shift()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const res = await fetch(new URL(path, site.url));
      if (res.status !== 200) {
        broken.push(`${path}: HTTP ${res.status}`);
        continue;
      }
      if (!path.endsWith('.html')) continue;
      const html = await res.text();
      ids.set(path, idsOf(html));
      for (const m of html.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
        const raw = m[1]!.replace(/&amp;/g, '&');
        if (/^(?:[a-z]+:)?\/\//i.test(raw) || /^(?:mailto|data|javascript):/i.test(raw)) continue;
        const url = new URL(raw, new URL(path, site.url));
        const target = decodeURIComponent(url.pathname.slice(1)) || 'index.html';
        if (raw === '' || raw === '#') continue;
        if (url.hash.length > 1) fragments.push({ from: path, target, id: decodeURIComponent(url.hash.slice(1)) });
        if (!seen.has(target)) queue.push(target);
      }
    }
    for (const f of fragments) {
      const known = ids.get(f.target);
      // TypeDoc's pages carry every member anchor as an id; a hash into a non-HTML file is not checked.
      if (known && !known.has(f.id)) broken.push(`${f.from}: #${f.id} is not an id in ${f.target}`);
    }
    expect(broken).toEqual([]);
    expect(seen.size).toBeGreaterThan(100);
    for (const guide of guidePages()) expect(seen, `${guide} is reachable`).toContain(guide);
  });

  it('the home page renders with navigation, search and no console error; screenshot saved', async () => {
    const { page, problems } = await open('index.html');
    await expect(page.title()).resolves.toMatch(/LoomDB/);
    await page.waitForSelector('#tsd-search-trigger');
    await page.waitForSelector('.tsd-navigation a');
    const nav = await page.locator('.tsd-navigation a').allTextContents();
    for (const name of ['db', 'query', 'weaver', 'Getting started']) expect(nav).toContain(name);
    mkdirSync(join(docs, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(docs, 'test-results', 'home.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it(`every guide renders with no console error (${GUIDES.length} guides)`, { timeout: 60_000 }, async () => {
    const pages = guidePages();
    expect(pages.length).toBeGreaterThanOrEqual(GUIDES.length);
    for (const path of pages) {
      const { page, problems } = await open(path);
      const h1 = await page.locator('.tsd-panel h1, .tsd-typography h1').first().textContent();
      expect(h1?.trim(), path).toBeTruthy();
      expect(problems, path).toEqual([]);
      await page.close();
    }
  });

  it('every published package has its API page under its own name', async () => {
    const config = JSON.parse(readFileSync(join(docs, 'typedoc.json'), 'utf8')) as { entryPoints: string[] };
    const names = config.entryPoints.map((dir) => (JSON.parse(readFileSync(join(docs, dir, 'package.json'), 'utf8')) as { name: string }).name);
    expect(names.length).toBeGreaterThanOrEqual(9);
    for (const name of names) {
      const page = `modules/${name.replace(/[@/]/g, '_')}.html`;
      expect(existsSync(join(dist, page)), `${name}: ${page}`).toBe(true);
      expect(readFileSync(join(dist, page), 'utf8'), page).toContain(name);
    }
  });

  it('a few API pages render with their members and examples', async () => {
    for (const path of ['classes/_loomdb_db.index.EmbeddedDB.html', 'classes/_loomdb_query.index.ConvergedQuery.html', 'classes/_loomdb_weaver.WeaverController.html', 'modules/_loomdb_db.html']) {
      const { page, problems } = await open(path);
      const title = await page.locator('.tsd-page-title h1').textContent();
      expect(title, path).toBeTruthy();
      if (!path.startsWith('modules/')) await expect(page.locator('h4.tsd-anchor-link, .tsd-tag-example, h4').filter({ hasText: 'Example' }).count(), `${path} shows an example`).resolves.toBeGreaterThan(0);
      expect(problems, path).toEqual([]);
      await page.close();
    }
    const { page } = await open('classes/_loomdb_db.index.EmbeddedDB.html');
    await expect(page.locator('#searchvectors, [id="searchVectors"]').count()).resolves.toBeGreaterThan(0);
    await page.close();
  });

  it('the performance charts render as SVG with bars', async () => {
    const { page, problems } = await open('documents/Performance.html');
    const charts = page.locator('img[src$=".svg"]');
    const count = await charts.count();
    expect(count).toBeGreaterThanOrEqual(5);
    for (let i = 0; i < count; i++) {
      const img = charts.nth(i);
      await img.scrollIntoViewIfNeeded();
      const { complete, width, src } = await img.evaluate((el: HTMLImageElement) => ({ complete: el.complete, width: el.naturalWidth, src: el.src }));
      expect(complete && width > 0, `${src} loaded and has a size`).toBe(true);
      const bars = await page.evaluate(async (u) => {
        const svg = new DOMParser().parseFromString(await (await fetch(u)).text(), 'image/svg+xml');
        return {
          root: svg.documentElement.nodeName,
          bars: svg.querySelectorAll('[aria-roledescription="bar"]').length,
          text: svg.documentElement.textContent ?? '',
        };
      }, src);
      expect(bars.root, src).toBe('svg');
      expect(bars.bars, `${src} has bars`).toBeGreaterThan(0);
    }
    expect(problems).toEqual([]);
    await page.close();
  });

  it('searching for searchVectors leads to its API page', async () => {
    const { page, problems } = await open('index.html');
    await page.click('#tsd-search-trigger');
    await page.fill('#tsd-search-input', 'searchVectors');
    const first = page.locator('#tsd-search-results li a').first();
    await first.waitFor({ timeout: 10_000 });
    expect(await first.textContent()).toMatch(/searchVectors/);
    await Promise.all([page.waitForLoadState('load'), first.click()]);
    await page.waitForURL(/searchVectors|EmbeddedDB/i);
    expect(page.url()).toMatch(/EmbeddedDB|searchVectors/);
    expect(readFileSync(join(dist, new URL(page.url()).pathname.slice(1)), 'utf8')).toMatch(/searchVectors/);
    expect(problems).toEqual([]);
    await page.close();
  });
});
