/**
 * The docs stay true to the code they describe: every environment variable the backend and the
 * local stack read is listed in docs/configuration.md; every relative link of README.md and
 * docs/*.md reaches a file, and a heading of it for a #fragment; CI runs the README's test command.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../server/config';
import { EVENT_SECRETS } from './support/event-receiver';
import { CONFIG_ENV } from './support/fixtures';

const ROOT = path.resolve(__dirname, '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

function filesUnder(dir: string, pattern: RegExp): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const file = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(file, pattern);
    return pattern.test(entry.name) ? [file] : [];
  });
}

// ---- Environment variables ----

const NAME = '[A-Z][A-Z0-9_]*';
const QUOTED = `['"\`](${NAME})['"\`]`;

/** The variables one source file reads from the environment, by every form the server code uses. */
export function envReadsIn(source: string, { configModule = false } = {}): string[] {
  const names = new Set<string>();
  const add = (pattern: RegExp) => {
    for (const match of source.matchAll(pattern)) names.add(match[1]);
  };
  add(new RegExp(`(?<![\\w'"\`.])process\\.env\\.(${NAME})`, 'g')); // process.env.NAME (not inside a string, as esbuild's define)
  add(new RegExp(`\\benv\\s*(?:\\?\\.)?\\[\\s*${QUOTED}\\s*\\]`, 'g')); // env['NAME'], process.env['NAME']
  add(new RegExp(`\\(\\s*env\\s*,\\s*${QUOTED}`, 'g')); // optional(env, 'NAME'), integer(env, 'NAME', …)
  for (const [, list] of source.matchAll(/\{([^{}]*)\}\s*=\s*process\.env\b/g)) {
    // const { NAME, OTHER: alias = 'x' } = process.env
    for (const part of list.split(',')) {
      const name = part.trim().split(/[\s:=]/)[0];
      if (new RegExp(`^${NAME}$`).test(name)) names.add(name);
    }
  }
  // The configuration module names its variables as string literals (some in tables, such as
  // the keys per mode): every all-caps one with an underscore is a variable.
  // A provider's variable is named by its suffix, v('SUFFIX'): the unnamed provider's is OAUTH_SUFFIX.
  if (configModule) for (const [, suffix] of source.matchAll(new RegExp(`\\bv\\(${QUOTED}\\)`, 'g'))) names.add(`OAUTH_${suffix}`);
  if (configModule) add(new RegExp(`(?<!\\bv\\()['"\`]([A-Z][A-Z0-9]*_[A-Z0-9_]+)['"\`]`, 'g'));
  return [...names];
}

/** The variables loadConfig reads, recorded as it reads them from an environment that takes every branch. */
function readByLoadConfig(): string[] {
  const full: Record<string, string> = {
    ...CONFIG_ENV,
    DATABASE_URL: 'postgres://broker@127.0.0.1:5432/broker',
    EVENTS_WEBHOOK_URL: 'https://hooks.example.com/broker',
    EVENTS_WEBHOOK_SECRET: EVENT_SECRETS.join(','),
  };
  const seen = new Set<string>();
  const env = new Proxy(full, {
    get(target, name) {
      if (typeof name === 'string') seen.add(name);
      return target[name as string];
    },
  });
  loadConfig(env);
  return [...seen];
}

/** The names docs/configuration.md lists in code spans; `OAUTH_<NAME>_CLIENT_ID` stands for a family. */
function documented(page: string): (name: string) => boolean {
  const spans = [...page.matchAll(/`([^`\n]+)`/g)].map(([, span]) => span);
  const names = new Set(spans.flatMap((span) => span.match(/[A-Z][A-Z0-9_]*/g) ?? []));
  // A family joins a placeholder to fixed parts with underscores (not `<BACKEND_URL>/api/`, a value).
  const families = spans.flatMap((span) => span.match(/(?:[A-Z][A-Z0-9]*_)+<[A-Za-z]+>(?:_[A-Z0-9]+)*|<[A-Za-z]+>(?:_[A-Z0-9]+)+/g) ?? [])
    .map((family) => new RegExp(`^${family.replace(/<[A-Za-z]+>/g, '[A-Z0-9_]+')}$`));
  return (name) => names.has(name) || families.some((family) => family.test(name));
}

describe('environment variables', () => {
  test('the scan finds each form of reading the environment', () => {
    const sample = [
      "const port = process.env.CONSOLE_PORT ?? 1; const d = { define: { 'process.env.NODE_ENV': '1' } };",
      "const a = process.env['BRACKETED_NAME']; const b = env?.['OPTIONAL_CHAIN'];",
      "const c = optional(env, 'CALLED_WITH_ENV'); const n = integer(env, 'WITH_DEFAULTS', 3, 0, 9);",
      "const { DESTRUCTURED, RENAMED: alias = 'x' } = process.env;",
      "for (const [name] of [['TABLE_NAME', 'test']]) read(name);",
    ].join('\n');
    expect(envReadsIn(sample).sort()).toEqual(['BRACKETED_NAME', 'CALLED_WITH_ENV', 'CONSOLE_PORT', 'DESTRUCTURED', 'OPTIONAL_CHAIN', 'RENAMED', 'WITH_DEFAULTS']);
    expect(envReadsIn(sample, { configModule: true })).toContain('TABLE_NAME');
  });

  test('a page documents the names in its code spans, and a family such as OAUTH_<NAME>_CLIENT_ID', () => {
    const listed = documented('| `PORT`, `OAUTH_<NAME>_CLIENT_ID` | `<BACKEND_URL>/api/`, `x` PLAIN_TEXT |');
    expect(['PORT', 'OAUTH_GITHUB_CLIENT_ID', 'BACKEND_URL'].filter(listed)).toEqual(['PORT', 'OAUTH_GITHUB_CLIENT_ID', 'BACKEND_URL']);
    expect(['PLAIN_TEXT', 'OAUTH_CLIENT_ID', 'OTHER_NAME'].filter(listed)).toEqual([]);
  });

  test('every variable the backend and the local stack read is listed in docs/configuration.md', () => {
    const sources = filesUnder('server', /\.(ts|js|cjs|mjs)$/);
    const scanned = new Set(sources.flatMap((file) => envReadsIn(read(file), { configModule: file === 'server/config.ts' })));
    const byLoadConfig = readByLoadConfig();
    // The scan sees every form used today, and loadConfig's own reads (names it may build) are in it.
    for (const name of ['STRIPE_SECRET_KEY_TEST', 'OAUTH_ISSUER', 'HOST', 'CONSOLE_PORT', 'BROKER_URL', 'LOG_FORMAT']) expect(scanned).toContain(name);
    for (const name of ['EVENTS_TIMEOUT_SECONDS', 'DATABASE_SSL']) expect(byLoadConfig).toContain(name);
    const all = [...new Set([...scanned, ...byLoadConfig])].sort();
    const listed = documented(read('docs/configuration.md'));
    expect(all.filter((name) => !listed(name))).toEqual([]);
  });
});

// ---- Links ----

const DOCS = ['README.md', ...filesUnder('docs', /\.md$/)];

/** Markdown without fenced blocks and code spans: neither holds links or headings. */
const prose = (markdown: string) => markdown.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, 'code');

/** GitHub's heading anchors: the text lowercased, punctuation dropped, spaces to hyphens; repeats get -1, -2, … */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  const text = markdown.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const [, heading] of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = heading.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, '').trim().toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

/** Each relative link of a page: inline links, images and reference definitions. */
function relativeLinks(markdown: string): string[] {
  const text = prose(markdown);
  const targets = [
    ...[...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map(([, target]) => target),
    ...[...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map(([, target]) => target),
  ];
  return targets.filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('//'));
}

/** What is wrong with one link of `file`, or undefined. */
function brokenLink(file: string, target: string): string | undefined {
  const [pathPart, fragment] = target.split('#', 2) as [string, string | undefined];
  const resolved = pathPart === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), decodeURI(pathPart)));
  if (resolved.startsWith('..') || !existsSync(path.join(ROOT, resolved))) return `${file}: ${target}: no such file`;
  if (fragment === undefined) return undefined;
  if (!resolved.endsWith('.md')) return `${file}: ${target}: a fragment of a file that is not Markdown`;
  return anchors(read(resolved)).has(decodeURIComponent(fragment).toLowerCase()) ? undefined : `${file}: ${target}: no such heading`;
}

describe('links', () => {
  test('anchors and links are read as GitHub reads them', () => {
    const page = '# A title\n\n## Operating: the `npm run x` API\n\n## Repeat\n\n## Repeat\n\n```sh\n# not a heading\n```\n\n[a](x.md#y) `[no](code.md)` ![b](img.png "t")\n\n[ref]: ../up.md\n[web](https://example.com)\n';
    expect([...anchors(page)]).toEqual(['a-title', 'operating-the-npm-run-x-api', 'repeat', 'repeat-1']);
    expect(relativeLinks(page)).toEqual(['x.md#y', 'img.png', '../up.md']);
  });

  test.each(DOCS)('every relative link of %s reaches a file, and a heading of it', (file) => {
    const links = relativeLinks(read(file));
    expect(links.map((target) => brokenLink(file, target)).filter(Boolean)).toEqual([]);
  });

  test('every page of docs/ is linked from the README or another page', () => {
    const linked = new Set(DOCS.flatMap((file) => relativeLinks(read(file)).map((target) => {
      const pathPart = target.split('#')[0];
      return pathPart === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), pathPart));
    }).filter((page) => page !== file)));
    expect(DOCS.filter((page) => page !== 'README.md' && !linked.has(page))).toEqual([]);
  });
});

test('CI runs the README\'s test command', () => {
  const commands = [...read('README.md').matchAll(/^```sh\n([\s\S]*?)^```/gm)].flatMap(([, block]) => block.split('\n'));
  expect(commands.some((line) => /^npm test(\s|$)/.test(line))).toBe(true);
  expect(read('.ci/run')).toMatch(/^npm test(\s|$)/m);
});
