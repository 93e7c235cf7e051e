#!/usr/bin/env node
/**
 * Checks the documentation: every relative link in README.md, the other top-level *.md files,
 * docs/*.md and bench/README.md leads to a file that exists, every #anchor to a heading of that
 * file, and every `npm start`, `npm test` and `npm run <script>` they name is a script of the
 * package.json where it runs (the project's, or the folder a `cd` in the same code block went to).
 *
 *   node scripts/check-docs.mjs [project folder]     prints each problem as file:line: what; exit 1 if any
 *
 * Links to other sites are not followed (no network).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));

/** The Markdown files checked, relative to the root. */
function documents() {
  const top = readdirSync(root).filter((f) => f.endsWith('.md'));
  const docs = existsSync(join(root, 'docs')) ? readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`) : [];
  const more = ['bench/README.md'].filter((f) => existsSync(join(root, f)));
  return [...top, ...docs, ...more].sort();
}

/** Each line of a Markdown file with whether it lies in a fenced code block. */
function lines(text) {
  let fenced = false;
  return text.split('\n').map((line, i) => {
    const fence = /^\s*(```|~~~)/.test(line);
    if (fence) fenced = !fenced;
    return { line, number: i + 1, code: fenced || fence };
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading) {
  const text = heading
    .replace(/`([^`]*)`/g, '$1')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '');
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

const anchorsOf = new Map();
function anchors(file) {
  if (!anchorsOf.has(file)) {
    const seen = new Map();
    const found = new Set();
    for (const { line, code } of lines(readFileSync(file, 'utf8'))) {
      const heading = !code && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
      if (heading) {
        const base = slug(heading[1]);
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        found.add(n === 0 ? base : `${base}-${n}`);
      }
      for (const m of line.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) found.add(m[1]);
    }
    anchorsOf.set(file, found);
  }
  return anchorsOf.get(file);
}

const scriptsOf = new Map();
function scripts(dir) {
  if (!scriptsOf.has(dir)) {
    const file = join(root, dir, 'package.json');
    scriptsOf.set(dir, existsSync(file) ? Object.keys(JSON.parse(readFileSync(file, 'utf8')).scripts ?? {}) : undefined);
  }
  return scriptsOf.get(dir);
}

const problems = [];
const report = (doc, number, what) => problems.push(`${doc}:${number}: ${what}`);

function checkLink(doc, number, target) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return; // https:, mailto:: another site
  const [path, anchor] = target.split('#', 2);
  const file = path === '' ? join(root, doc) : resolve(dirname(join(root, doc)), decodeURIComponent(path));
  if (relative(root, file).startsWith('..')) return report(doc, number, `${target}: leads outside the project`);
  if (!existsSync(file)) return report(doc, number, `${target}: ${normalize(relative(root, file))} does not exist`);
  if (anchor === undefined || anchor === '' || !file.endsWith('.md') || statSync(file).isDirectory()) return;
  if (!anchors(file).has(anchor)) report(doc, number, `${target}: ${relative(root, file)} has no heading #${anchor}`);
}

function checkNpm(doc, number, text, dir) {
  const run = [...text.matchAll(/\bnpm\s+run(?:-script)?\s+((?:--?[\w-]+\s+)*)([^\s`'"<>|;&)]+)/g)].map((m) => m[2]);
  const builtIn = [...text.matchAll(/\bnpm\s+(start|test)\b/g)].map((m) => m[1]);
  for (const name of [...run, ...builtIn]) {
    if (name.startsWith('-')) continue;
    const known = scripts(dir);
    const where = join(dir, 'package.json');
    if (known === undefined) report(doc, number, `npm run ${name}: there is no ${where}`);
    else if (!known.includes(name)) report(doc, number, `npm run ${name}: no such script in ${where}`);
  }
}

for (const doc of documents()) {
  let cwd = '.';
  for (const { line, number, code } of lines(readFileSync(join(root, doc), 'utf8'))) {
    if (code) {
      if (/^\s*(```|~~~)/.test(line)) cwd = '.'; // each block starts in the project folder
      // A `cd` carries over to the block's next commands, as in a shell.
      for (const segment of line.replace(/\s#.*$/, '').split(/&&|;|\|\|/)) {
        const cd = /^\s*cd\s+(\S+)/.exec(segment);
        if (cd) cwd = normalize(join(cwd, cd[1]));
        else checkNpm(doc, number, segment, cwd);
      }
      continue;
    }
    checkNpm(doc, number, line, '.');
    const prose = line.replace(/`[^`]*`/g, (m) => (/\]\(/.test(m) ? m : ' '));
    for (const m of prose.matchAll(/!?\[(?:[^\]]|\][^(])*?\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) checkLink(doc, number, m[1]);
    const reference = /^\s*\[[^\]]+\]:\s+<?(\S+?)>?(?:\s|$)/.exec(line);
    if (reference) checkLink(doc, number, reference[1]);
  }
}

if (problems.length > 0) {
  process.stdout.write(`${problems.join('\n')}\n${problems.length} problem(s) in the documentation\n`);
  process.exit(1);
}
process.stdout.write(`documentation: ${documents().length} files, every relative link, anchor and npm script resolves\n`);
