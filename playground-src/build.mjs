// Bundles editor.js into minified ES modules (the editor, and a chunk per language mode that
// it loads on first use) and writes the licenses of every package that went into them beside
// them. Run by scripts/build-editor.
import { build } from "esbuild";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const out = "../tinirun/playground/static/vendor";
rmSync(`${out}/chunks`, { recursive: true, force: true });
const result = await build({
  entryPoints: ["editor.js"],
  bundle: true,
  minify: true,
  format: "esm",
  splitting: true, // each language mode a chunk of its own, loaded when first used
  chunkNames: "chunks/[name]-[hash]",
  target: "es2020",
  legalComments: "none",
  metafile: true,
  outdir: out,
});

// Every package with a file in the bundle, by its package.json.
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = input.match(/^node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (match) packages.set(match[1], join("node_modules", match[1]));
}
const sections = [...packages.entries()].sort().map(([name, dir]) => {
  const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const file = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  const text = file ? readFileSync(join(dir, file), "utf8").trim() : `License: ${meta.license}`;
  return `${name} ${meta.version} (${meta.license})\n\n${text}\n`;
});
const header = "Third-party code bundled in editor.js and chunks/ (built from playground-src/).\n";
writeFileSync(`${out}/LICENSES.txt`, [header, ...sections].join("\n" + "-".repeat(72) + "\n\n"));
console.log(`editor.js: ${packages.size} packages`);
