/**
 * The house rules, checked on the code's own syntax tree (TypeScript's parser), so they stay
 * true:
 * 1. lib/ is IO-free: no file under lib/ imports transports/ or a `node:` module, or uses Node
 *    globals (Buffer, process, timers, require, __dirname, NodeJS.*) or reads the clock
 *    (Date.now(), `new Date()`, performance.now()): time is an input. Exempt: lib/cli/ (the
 *    command), lib/entry/ (entry points that put an engine and a Node driver together) and
 *    lib/crypto/node.ts (the node:crypto provider).
 * 2. Layers: bytes and timers < crypto < x509 < dtls < coap < lwm2m < entry < cli. A file
 *    imports only from lower layers (and its own); transports/ never imports entry or cli, and
 *    the CLI reaches the drivers through the entry points.
 * `violations()` is exported through the test so that a deliberately bad file shows it fails.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');

const LAYER: Record<string, number> = { bytes: 0, timers: 0, crypto: 1, x509: 2, dtls: 3, coap: 4, lwm2m: 5, entry: 6, cli: 7 };
const IO_EXEMPT = (f: string) => f.startsWith('lib/cli/') || f.startsWith('lib/entry/') || f === 'lib/crypto/node.ts';
const NODE_GLOBALS = new Set(['Buffer', 'process', 'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate', 'require', '__dirname', '__filename', 'global']);

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = `${dir}/${name}`;
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...filesUnder(rel));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** lib/<part>/... -> part; anything else -> undefined. */
const partOf = (f: string) => (f.startsWith('lib/') ? f.split('/')[1] : undefined);

/** The problems with one file, given its repository-relative path and source text. */
export function violations(file: string, source: string): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const where = (n: ts.Node) => `${file}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
  const ioFree = file.startsWith('lib/') && !IO_EXEMPT(file);
  const own = partOf(file);

  const checkImport = (spec: string, n: ts.Node) => {
    if (spec.startsWith('node:') || ['fs', 'dgram', 'net', 'crypto', 'events', 'os', 'path', 'child_process'].includes(spec)) {
      if (ioFree) found.push(`${where(n)} imports ${spec}`);
      return;
    }
    if (!spec.startsWith('.')) return; // a package (checked by package.json, not here)
    const target = relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts');
    if (target.startsWith('transports/') && file.startsWith('lib/') && ioFree) found.push(`${where(n)} imports ${target} (lib/ does no IO)`);
    if (file.startsWith('transports/') && (partOf(target) === 'entry' || partOf(target) === 'cli')) found.push(`${where(n)} imports ${target} (drivers sit below the entry points)`);
    if (file.startsWith('lib/cli/') && target.startsWith('transports/')) found.push(`${where(n)} imports ${target} (the command reaches the drivers through lib/entry)`);
    const to = partOf(target);
    if (own !== undefined && to !== undefined && to !== own) {
      const a = LAYER[own];
      const b = LAYER[to];
      if (a === undefined || b === undefined) found.push(`${where(n)}: lib/${own === undefined || a === undefined ? own : to}/ is no known layer`);
      else if (b >= a) found.push(`${where(n)} imports ${target}: lib/${own}/ may not import lib/${to}/ (a lower layer never imports a higher one)`);
    }
  };

  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      checkImport(n.moduleSpecifier.text, n);
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0])) {
      checkImport(n.arguments[0].text, n);
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      checkImport(n.argument.literal.text, n);
    }
    if (ioFree) {
      if (ts.isIdentifier(n) && NODE_GLOBALS.has(n.text) && isFreeReference(n)) found.push(`${where(n)} uses the Node global ${n.text}`);
      if (ts.isQualifiedName(n) && ts.isIdentifier(n.left) && n.left.text === 'NodeJS') found.push(`${where(n)} uses the type NodeJS.${n.right.text}`);
      if (ts.isPropertyAccessExpression(n) && ts.isIdentifier(n.expression) && n.name.text === 'now' && (n.expression.text === 'Date' || n.expression.text === 'performance')) {
        found.push(`${where(n)} reads the clock (${n.expression.text}.now): time is an input`);
      }
      if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'Date' && (n.arguments?.length ?? 0) === 0) {
        found.push(`${where(n)} reads the clock (new Date()): time is an input`);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

/** An identifier that refers to a variable in scope (not a property name, a declaration or a member). */
function isFreeReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false;
  if ((ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p) || ts.isMethodDeclaration(p) || ts.isPropertySignature(p) || ts.isMethodSignature(p)) && p.name === id) return false;
  if ((ts.isVariableDeclaration(p) || ts.isParameter(p) || ts.isFunctionDeclaration(p) || ts.isBindingElement(p)) && p.name === id) return false;
  if (ts.isShorthandPropertyAssignment(p)) return true;
  if (ts.isQualifiedName(p) && p.right === id) return false;
  if (ts.isImportSpecifier(p) || ts.isExportSpecifier(p) || ts.isImportClause(p)) return false;
  return true;
}

const SOURCES = [...filesUnder('lib'), ...filesUnder('transports')];

describe('house rules', () => {
  it('every file under lib/ and transports/ keeps them', () => {
    const all = SOURCES.flatMap((f) => violations(f, readFileSync(join(ROOT, f), 'utf8')));
    expect(all).toEqual([]);
  });

  it('finds a node: import, a driver import, a Node global, a clock read and an upward import', () => {
    const bad = [
      "import { readFileSync } from 'node:fs';",
      "import { createServer } from '../../transports/node-dgram.js';",
      'export const t = setTimeout(() => undefined, 1);',
      'export const b = Buffer.from([1]);',
      'export const now = Date.now();',
      'export const d = new Date();',
      'let x: NodeJS.Timeout | undefined;',
      "import { Lwm2mError } from '../lwm2m/errors.js';",
      "export type C = import('node:dgram').Socket;",
    ].join('\n');
    const v = violations('lib/dtls/bad.ts', bad);
    expect(v).toHaveLength(9);
    expect(v.join('\n')).toMatch(/imports node:fs[\s\S]*transports\/node-dgram[\s\S]*setTimeout[\s\S]*Buffer[\s\S]*Date\.now[\s\S]*new Date[\s\S]*NodeJS\.Timeout[\s\S]*lib\/lwm2m[\s\S]*node:dgram/);
  });

  it('lets the exempt files do IO, but not break the layers', () => {
    expect(violations('lib/entry/dtls.ts', "import { createSocket } from 'node:dgram';\nexport * from '../../transports/node-dgram.js';")).toEqual([]);
    expect(violations('lib/crypto/node.ts', "import { createCipheriv } from 'node:crypto';")).toEqual([]);
    expect(violations('lib/cli/main.ts', 'process.exit(0);')).toEqual([]);
    expect(violations('lib/crypto/node.ts', "import { DtlsError } from '../dtls/errors.js';")).toHaveLength(1);
    expect(violations('transports/sim.ts', "import { connect } from '../lib/entry/dtls.js';")).toHaveLength(1);
    expect(violations('lib/cli/dtls.ts', "import { connect } from '../../transports/node-dgram.js';")).toHaveLength(1);
  });

  it('does not mistake names that only look like globals', () => {
    const ok = [
      'const o = { process: 1, setTimeout: 2 };',
      'o.process; o.Buffer;',
      'function f(process: number) { return 1; }',
      'class K { setTimeout() { return 1; } }',
      'export const d = new Date(0);',
      "const s = 'Buffer, process and Date.now() in a string';",
      '// setTimeout(() => 1) in a comment',
    ].join('\n');
    expect(violations('lib/coap/ok.ts', ok)).toEqual([]);
  });
});
