// The committed types must be what openapi-typescript makes of the service's document.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { SCHEMA_FILE, liveDocument, typesOf } from "../scripts/openapi.mjs";
import { startService } from "./server.mjs";

let service;
before(async () => {
  service = await startService();
});
after(async () => {
  await service?.stop();
});

test("src/schema.d.ts matches the live OpenAPI document", async () => {
  const committed = readFileSync(SCHEMA_FILE, "utf8");
  const body = committed.slice(committed.indexOf("*/\n\n") + 4);
  const fresh = await typesOf(await liveDocument(service.url));
  assert.ok(fresh.includes('"/code/run"'), "the document has no /code/run route");
  assert.equal(body, fresh, "the API changed: run `npm run generate` in clients/node and commit");
});
