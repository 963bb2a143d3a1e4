// The service's OpenAPI document and the TypeScript types openapi-typescript makes of it.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_DIR = join(PACKAGE_DIR, "..", "..");
export const SCHEMA_FILE = join(PACKAGE_DIR, "src", "schema.d.ts");

/** The Python of the repository's venv (or $TINIRUN_PYTHON, or python3 on PATH). */
export function python() {
  if (process.env.TINIRUN_PYTHON) return process.env.TINIRUN_PYTHON;
  const venv = join(REPO_DIR, ".venv", "bin", "python");
  return existsSync(venv) ? venv : "python3";
}

/** The document a service would serve, made offline from the package (no server, no engine). */
export function localDocument() {
  const code =
    "import json; from tinirun.api.app import create_api; from tinirun.config import Config;" +
    " print(json.dumps(create_api(Config(api_key='-')).openapi()))";
  return JSON.parse(execFileSync(python(), ["-c", code], { cwd: REPO_DIR, encoding: "utf8" }));
}

/** The document a running service serves at `url` (its root). */
export async function liveDocument(url) {
  const response = await fetch(`${url.replace(/\/+$/, "")}/api/openapi.json`);
  if (!response.ok) throw new Error(`GET openapi.json: ${response.status}`);
  return await response.json();
}

/** The types of `document`, exactly as committed in src/schema.d.ts. */
export async function typesOf(document) {
  return astToString(await openapiTS(document, { alphabetize: true, defaultNonNullable: false }));
}
