// tsc emits no file for src/schema.d.ts (a declaration file), yet dist/index.d.ts imports it:
// copy it beside, so the packed package's types are complete.
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_DIR } from "./openapi.mjs";

copyFileSync(join(PACKAGE_DIR, "src", "schema.d.ts"), join(PACKAGE_DIR, "dist", "schema.d.ts"));
