// @ts-check
/**
 * The docs site's TypeDoc plugin. Two jobs:
 *
 * 1. **Every exported symbol has an `@example`.** After the packages are
 *    merged, each top-level export of each entry point (class, function,
 *    variable, interface, type alias, enum, namespace) must carry an
 *    `@example` block in its doc comment (or its signature's). A symbol
 *    without one is a warning, and `treatWarningsAsErrors` turns it into a
 *    failed build. Members need a comment (`validation.notDocumented`) but
 *    no example of their own. `missing-examples.txt` lists the exports not
 *    yet given one; a listed symbol that has an example now, or no longer
 *    exists, is reported (not fatal: engineers working in parallel add
 *    examples and exports at their own pace); drop such lines.
 *
 * 2. **Links between packages.** A package sees its dependencies through
 *    their built `.d.ts`, so a type or `{@link}` naming another package's
 *    symbol is "external" while that package is converted. The resolver
 *    below marks such a reference with a placeholder (`loomdb-xref:` package
 *    and name); once the pages are rendered the placeholder becomes a
 *    relative link to that symbol's page in the merged site. A name the site
 *    does not have is a warning.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Application, PageEvent, ReflectionKind, RendererEvent } from 'typedoc';

const here = dirname(fileURLToPath(import.meta.url));
const MODULE = ReflectionKind.Module | ReflectionKind.Project;
const XREF = 'loomdb-xref:';

/** @param {import('typedoc').Reflection} r */
function hasExample(r) {
  const d = /** @type {any} */ (r);
  const comments = [d.comment, ...(d.signatures ?? []).map((/** @type {any} */ s) => s.comment), d.getSignature?.comment, d.setSignature?.comment];
  if (d.type?.type === 'reflection') comments.push(...(d.type.declaration.signatures ?? []).map((/** @type {any} */ s) => s.comment));
  return comments.some((c) => c?.blockTags.some((/** @type {any} */ t) => t.tag === '@example'));
}

/** The merged project's package modules, or null while one package is converted alone. */
function packagesOf(/** @type {import('typedoc').ProjectReflection} */ project) {
  const children = project.children ?? [];
  const merged = children.length > 1 && children.every((c) => c.kindOf(ReflectionKind.Module) && c.name.startsWith('@loomdb/'));
  return merged ? children : null;
}

/** Top-level exports under a package module (through its entry-point modules). */
function exportsOf(/** @type {import('typedoc').ContainerReflection} */ container, /** @type {import('typedoc').DeclarationReflection[]} */ out = []) {
  for (const child of container.children ?? []) {
    if (child.kindOf(MODULE)) exportsOf(child, out);
    else if (!child.kindOf(ReflectionKind.Reference)) out.push(child);
  }
  return out;
}

/** @param {string} file */
function readList(file) {
  try {
    return new Set(
      readFileSync(file, 'utf8')
        .split('\n')
        .map((l) => l.replace(/#.*/, '').trim())
        .filter(Boolean),
    );
  } catch {
    return new Set();
  }
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  const log = /** @type {(level: 'warn' | 'info', msg: string) => void} */ ((level, msg) => app.logger[level](/** @type {any} */ (msg)));

  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    const packages = packagesOf(project);
    if (!packages) return;
    const todo = readList(join(here, '..', 'missing-examples.txt'));
    const seen = new Set();
    let checked = 0;
    let documented = 0;
    /** @type {string[]} */
    const stale = [];
    for (const pkg of packages) {
      for (const r of exportsOf(pkg)) {
        const name = r.getFullName();
        seen.add(name);
        checked++;
        if (hasExample(r)) {
          documented++;
          if (todo.has(name)) stale.push(`${name} (has an @example now)`);
        } else if (!todo.has(name)) {
          log('warn', `${name} has no @example in its doc comment`);
        }
      }
    }
    for (const name of todo) if (!seen.has(name)) stale.push(`${name} (no package exports it)`);
    if (stale.length > 0) log('info', `apps/docs/missing-examples.txt can lose ${stale.length} line(s): ${stale.join(', ')}`);
    log('info', `@example check: ${documented} of ${checked} exported symbols have one (${todo.size} listed in missing-examples.txt)`);
  });

  // 2. Cross-package references.
  app.converter.addUnknownSymbolResolver((_ref, _refl, _part, symbolId) => {
    // Only another package's built declarations (`dist/*.d.ts`); a package's own
    // unexported source types stay unresolved, for `validation.notExported`.
    if (!symbolId?.packageName.startsWith('@loomdb/') || !/^dist\//.test(symbolId.packagePath)) return undefined;
    return `${XREF}${encodeURIComponent(symbolId.packageName)}:${encodeURIComponent(symbolId.qualifiedName)}`;
  });

  /** @type {Map<string, import('typedoc').Reflection>} */
  let index = new Map();
  app.renderer.on(RendererEvent.BEGIN, (event) => {
    index = new Map();
    for (const pkg of packagesOf(event.project) ?? []) {
      const add = (/** @type {import('typedoc').ContainerReflection} */ c, /** @type {string} */ prefix) => {
        for (const child of c.children ?? []) {
          if (child.kindOf(ReflectionKind.Module)) {
            add(child, prefix);
            continue;
          }
          const key = `${pkg.name}:${prefix}${child.name}`;
          if (!index.has(key)) index.set(key, child);
          if (child.kindOf(ReflectionKind.ClassOrInterface | ReflectionKind.Namespace | ReflectionKind.Enum)) add(child, `${prefix}${child.name}.`);
        }
      };
      add(pkg, '');
    }
  });
  app.renderer.on(PageEvent.END, (page) => {
    if (!page.contents?.includes(XREF)) return;
    const router = app.renderer.router;
    page.contents = page.contents.replace(/href="loomdb-xref:([^":]+):([^"]+)"/g, (_m, pkg, qualified) => {
      const name = decodeURIComponent(qualified).replace(/\$\d+\b/g, '');
      const target = index.get(`${decodeURIComponent(pkg)}:${name}`);
      if (target && router && page.model && router.hasUrl(target)) return `href="${router.relativeUrl(page.model, target)}"`;
      log('warn', `${page.url}: no page in the site for ${decodeURIComponent(pkg)} ${name}`);
      return 'href="#"';
    });
  });
}
