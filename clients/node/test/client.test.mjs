// The client against a live service on a real Docker engine.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  AuthenticationError,
  InvalidRequestError,
  NotFoundError,
  RunError,
  TinirunClient,
  TransportError,
} from "../dist/index.js";
import { startService } from "./server.mjs";

let service;
let client;
before(async () => {
  service = await startService();
  client = new TinirunClient({ url: service.url, apiKey: service.apiKey });
});
after(async () => {
  await service?.stop();
});

async function collect(chunks) {
  const out = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

describe("one-off runs", () => {
  test("streams typed chunks in order, ending with the result", async () => {
    const code = "import sys\nprint('out', flush=True)\nprint('err', file=sys.stderr)\nsys.exit(3)";
    const chunks = await collect(client.runCodeStream({ lang: "python", code }));
    const events = chunks.map((c) => c.event);
    assert.equal(events.at(-1), "result");
    assert.ok(events.includes("info"));
    const stdout = chunks.filter((c) => c.event === "stdout").map((c) => c.data).join("");
    const stderr = chunks.filter((c) => c.event === "stderr").map((c) => c.data).join("");
    assert.equal(stdout, "out\n");
    assert.equal(stderr, "err\n");
    const result = chunks.at(-1).data;
    assert.equal(result.exit_code, 3);
    assert.equal(result.timeout, false);
  });

  test("runCode resolves with the result, files and stdin included", async () => {
    const result = await client.runCode({
      lang: "javascript",
      code: "import fs from 'node:fs';\n" +
        "console.log(fs.readFileSync('files/a/b.txt', 'utf8') + fs.readFileSync(0, 'utf8'));",
      files: [{ path: "a/b.txt", content: Buffer.from("file+").toString("base64") }],
      stdin: "stdin",
    });
    assert.equal(result.stdout, "file+stdin\n");
    assert.equal(result.exit_code, 0);
  });

  test("output arrives while the program runs, and breaking out hangs up", async () => {
    // A fetch whose response body says when the client cancels it (the hang-up).
    let cancelled = false;
    const tracking = async (...args) => {
      const response = await fetch(...args);
      const reader = response.body.getReader();
      const body = new ReadableStream({
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        },
        async cancel(reason) {
          cancelled = true;
          await reader.cancel(reason);
        },
      });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const watched = new TinirunClient({ url: service.url, apiKey: service.apiKey, fetch: tracking });
    const code = "import time\nfor i in range(600):\n    print(i, flush=True)\n    time.sleep(0.1)";
    let stdout = "";
    for await (const chunk of watched.runCodeStream({ lang: "python", code, timeout: 120 })) {
      if (chunk.event === "stdout") stdout += chunk.data;
      if (stdout.includes("\n")) break;
    }
    assert.equal(stdout, "0\n");
    assert.equal(cancelled, true, "breaking out of the loop must cancel the response body");
  });

  test("a timed-out run is a result, not an error", async () => {
    const result = await client.runCode({ lang: "bash", code: "sleep 30", timeout: 5 });
    assert.equal(result.timeout, true);
    assert.equal(result.exit_code, null);
  });

  test("refused requests throw typed errors with the service's message", async () => {
    await assert.rejects(
      client.runCode({ lang: "python", code: "x", dependencies: ["bad dep"] }),
      (error) => error instanceof InvalidRequestError && error.status === 400 &&
        error.message.includes("bad dep"),
    );
    await assert.rejects(
      client.runCode({ lang: "python", code: "x", timeout: 1 }),
      // A body that breaks the schema: 400 with JSON {"message"}, read as the message.
      (error) => error instanceof InvalidRequestError && error.status === 400 &&
        error.message.startsWith("timeout: "),
    );
    const stranger = new TinirunClient({ url: service.url, apiKey: "wrong" });
    await assert.rejects(stranger.listFunctions(), AuthenticationError);
    const nowhere = new TinirunClient({ url: "http://127.0.0.1:9", apiKey: "k" });
    await assert.rejects(nowhere.listFunctions(), TransportError);
  });

  test("a dependency that cannot install ends the stream with an error chunk", async () => {
    await assert.rejects(
      client.runCode({ lang: "python", code: "x", dependencies: ["no-such-package-tinirun-x"] }),
      (error) => error instanceof RunError && error.kind === "build_failed",
    );
  });
});

describe("functions", () => {
  const name = `node-client-${process.pid}`.replace(/[0-9]/g, (d) => "abcdefghij"[d]);

  test("create, update, list, info, detail, run, run/stream and delete", async () => {
    const created = await client.createFunction(name, "python");
    assert.equal(created.status.type, "ready");
    assert.equal(created.version, "0");
    const updated = await client.updateFunction(name, {
      code: "def run(input: str) -> str:\n    return input.upper()\n",
      description: "Shouts",
    });
    assert.equal(updated.version, "1");
    assert.equal(updated.status.type, "ready");
    const listed = await client.listFunctions();
    assert.ok(listed.some((item) => item.name === name && item.info.version === "1"));
    const detail = await client.getFunctionDetail(name);
    assert.match(detail.code, /upper/);
    assert.equal(detail.description, "Shouts");
    const result = await client.runFunction(name, { input: "hello" });
    assert.equal(result.stdout, "HELLO");
    const chunks = await collect(client.runFunctionStream(name, { input: "stream" }));
    assert.equal(chunks.at(-1).event, "result");
    assert.equal(chunks.at(-1).data.stdout, "STREAM");
    await client.deleteFunction(name);
    await assert.rejects(client.getFunction(name), NotFoundError);
  });

  test("a build's progress streams as chunks", async () => {
    const other = `${name}-stream`;
    const chunks = await collect(client.createFunctionStream(other, "bash"));
    assert.ok(chunks.length > 1);
    assert.ok(chunks.every((c) => ["info", "debug"].includes(c.event)), JSON.stringify(chunks.at(-1)));
    assert.equal((await client.getFunction(other)).status.type, "ready");
    await client.deleteFunction(other);
  });
});
