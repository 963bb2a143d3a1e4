// A user of the original's Node client, on types generated from our OpenAPI document the way
// the original's client makes them (`openapi-typescript <server>/api/openapi.json -o
// types.d.ts`). It must typecheck: a renamed schema, a flattened oneOf, a new required field
// or a lost operation breaks it. Run with TINIRUN_URL and TINIRUN_API_KEY, it also talks to
// the service as that client does (base URL ending in /api, fetch's own Accept header).
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./types.js";

type Schemas = components["schemas"];
export type CodeRunnerChunk = Schemas["CodeRunnerChunk"];
export type CodeRunnerInput = Schemas["CodeRunnerInput"];
type CodeRunnerError = Schemas["CodeRunnerError"];
type CodeRunnerLanguage = Schemas["CodeRunnerLanguage"];
type CodeRunnerFile = Schemas["CodeRunnerFile"];
type FunctionItem = Schemas["FunctionItem"];
type FunctionInfo = Schemas["FunctionInfo"];
type FunctionDetail = Schemas["FunctionDetail"];
type FunctionStatus = Schemas["FunctionStatus"];
type CreateFunctionInput = Schemas["CreateFunctionInput"];
type UpdateFunctionInput = Schemas["UpdateFunctionInput"];
type RunFunctionInput = Schemas["RunFunctionInput"];
type RunFunctionOutput = Schemas["RunFunctionOutput"];

// The original's index.d.ts: a client over every path, typed by the generated `paths`.
export type TinirunClient = Client<paths, `${string}/${string}`>;

export function createTinirunClient(baseUrl: string, apiKey: string): TinirunClient {
  return createClient<paths, `${string}/${string}`>({
    baseUrl,
    headers: { "X-Runner-Api-Key": apiKey },
  });
}

function errorText(error: CodeRunnerError): string {
  switch (error.error) {
    case "build_failed":
      return `${error.message}\n${error.logs}`;
    case "docker":
      return error.message;
    case "function_image_not_found":
      return `${error.message} (${error.image_tag})`;
  }
}

/** What the demo's log panel shows for a chunk: `chunk.data` narrows by `chunk.event`. */
export function describe(chunk: CodeRunnerChunk): string {
  switch (chunk.event) {
    case "info":
    case "debug":
    case "stdout":
    case "stderr": {
      const text: string = chunk.data;
      return text;
    }
    case "error": {
      const err = chunk.data;
      const detail = "logs" in err && err.logs ? `\n${err.logs}` : "";
      return `${errorText(err)}${detail}`;
    }
    case "result": {
      const r = chunk.data;
      const code: number | null | undefined = r.exit_code;
      const timedOut: boolean = r.timeout;
      return `${r.stdout}${r.stderr} exit ${code ?? "?"}${timedOut ? " (timed out)" : ""}`;
    }
  }
}

function statusText(status: FunctionStatus): string {
  switch (status.type) {
    case "not_built":
    case "building":
      return status.type;
    case "error":
      return `error: ${status.message}`;
    case "ready": {
      const tag: string = status.tag;
      const id: string = status.id;
      return `ready ${tag} ${id}`;
    }
  }
}

function infoText(info: FunctionInfo | FunctionDetail): string {
  const version: string = info.version;
  const created: string = info.created_at;
  const updated: string = info.updated_at;
  const lang: CodeRunnerLanguage = info.lang;
  const description: string | null | undefined = info.description;
  return `${lang} v${version} ${statusText(info.status)} ${created} ${updated} ${description ?? ""}`;
}

/** The chunks of an SSE body, read as the demo's event-source parser reads them. */
async function* sseChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<CodeRunnerChunk> {
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const lines = buffer.split("\n");
    buffer = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "") {
        if (data.length) yield JSON.parse(data.join("\n")) as CodeRunnerChunk;
        data = [];
      } else if (line.startsWith("data:")) {
        data.push(line.slice(5).replace(/^ /, ""));
      }
    }
  }
}

async function lastChunk(body: ReadableStream<Uint8Array> | null | undefined): Promise<CodeRunnerChunk> {
  if (!body) throw new Error("no body");
  let last: CodeRunnerChunk | undefined;
  for await (const chunk of sseChunks(body)) {
    describe(chunk);
    last = chunk;
  }
  if (!last) throw new Error("no chunk");
  return last;
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`failed: ${what}`);
}

/** Every operation of the original, as its client's users call them. */
export async function session(client: TinirunClient, name: string): Promise<void> {
  const file: CodeRunnerFile = { path: "in.txt", content: "aGk=" };
  const input: CodeRunnerInput = {
    code: "print(open('files/in.txt').read())",
    lang: "python",
    files: [file],
    dependencies: null,
    timeout: 60,
    mem_limit_mb: 256,
    cpu_limit: 0.5,
  };
  const run = await client.POST("/code/run", { body: input, parseAs: "stream" });
  check(run.response.ok, `run_code answered ${run.response.status}`);
  const result = await lastChunk(run.data);
  check(result.event === "result" && result.data.stdout === "hi\n", describe(result));

  const create: CreateFunctionInput = { name, language: "python" };
  const created = await client.POST("/function", { body: create, parseAs: "stream" });
  check(created.response.ok, `create_function answered ${created.response.status}`);
  check((await lastChunk(created.data)).event === "info", "the build ends with info");

  const listed = await client.GET("/function");
  const items: FunctionItem[] = listed.data ?? [];
  check(items.some((item) => item.name === name && item.info.version === "0"), "listed, v0");

  const info = await client.GET("/function/{name}/info", { params: { path: { name } } });
  check(info.data?.status.type === "ready", `info: ${info.data ? infoText(info.data) : info.error}`);

  const update: UpdateFunctionInput = {
    code: "def run(input: str) -> str:\n    return input.upper()\n",
    description: "shouts",
    dependencies: null,
  };
  const updated = await client.POST("/function/{name}", {
    params: { path: { name } }, body: update, parseAs: "stream",
  });
  check((await lastChunk(updated.data)).event === "info", "the rebuild ends with info");

  const detail = await client.GET("/function/{name}/detail", { params: { path: { name } } });
  const code: string | undefined = detail.data?.code;
  const dependencies: string | null | undefined = detail.data?.dependencies;
  check(code === update.code && !dependencies && detail.data?.version === "1", "detail v1");

  const args: RunFunctionInput = { input: "hey", timeout: 60, mem_limit_mb: 256, cpu_limit: 0.5 };
  const output = await client.POST("/function/{name}/run", { params: { path: { name } }, body: args });
  const out: RunFunctionOutput | undefined = output.data;
  check(out?.stdout === "HEY" && out.timeout === false, `run_function: ${JSON.stringify(out)}`);

  const streamed = await client.POST("/function/{name}/run/stream", {
    params: { path: { name } }, body: args, parseAs: "stream",
  });
  const end = await lastChunk(streamed.data);
  check(end.event === "result" && end.data.stdout === "HEY", describe(end));

  const missing = await client.GET("/function/{name}/info", { params: { path: { name: "fn1" } } });
  check(missing.response.status === 404, `a missing function is ${missing.response.status}`);
}

const url = process.env.TINIRUN_URL;
if (url) {
  const client = createTinirunClient(`${url}/api`, process.env.TINIRUN_API_KEY ?? "");
  await session(client, process.env.TINIRUN_FUNCTION ?? "generated-client");
  console.log("session ok");
}
