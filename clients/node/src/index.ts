/**
 * A client of the tinirun service for Node 20+ (fetch, no runtime dependencies).
 *
 * The request and answer types come from the service's OpenAPI document (./schema.d.ts,
 * generated); this file adds the streamed routes: NDJSON read into an async iterator of
 * typed chunks, that hangs up (and so stops the run) when the loop breaks early.
 */

import type { components, operations } from "./schema.js";

export type { components, operations, paths } from "./schema.js";

type Schemas = components["schemas"];
// Our names for the document's schemas (which carry the original's names).
export type Language = Schemas["CodeRunnerLanguage"];
export type RunRequest = Schemas["CodeRunnerInput"];
export type RunResult = Schemas["RunFunctionOutput"];
export type ErrorData = Schemas["CodeRunnerError"];
export type FunctionInfo = Schemas["FunctionInfo"];
export type FunctionDetail = Schemas["FunctionDetail"];
export type FunctionListItem = Schemas["FunctionItem"];
export type FunctionRunRequest = Schemas["RunFunctionInput"];
export type UpdateFunctionRequest = Schemas["UpdateFunctionInput"];

/** One chunk of a stream; `event` tells the type of `data`. */
export type Chunk =
  | { event: "info"; data: string }
  | { event: "debug"; data: string }
  | { event: "stdout"; data: string }
  | { event: "stderr"; data: string }
  | { event: "result"; data: RunResult }
  | { event: "error"; data: ErrorData };

// The typed chunks must stay chunks of the generated schema: this line stops compiling if not.
const _chunksFitTheSchema: Chunk extends Schemas["CodeRunnerChunk"] ? true : never = true;
void _chunksFitTheSchema;

/** Base of every error this client throws. */
export class TinirunError extends Error {
  override name = "TinirunError";
}

/** The service could not be reached, or the connection broke. */
export class TransportError extends TinirunError {
  override name = "TransportError";
}

/** The service answered with an error status; `message` is its message (the text, or a JSON body's `message`). */
export class StatusError extends TinirunError {
  override name = "StatusError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** 401: the X-Runner-Api-Key header is missing or wrong. */
export class AuthenticationError extends StatusError {
  override name = "AuthenticationError";
}

/** 400, 413, 422: the request breaks a rule; the message names it. */
export class InvalidRequestError extends StatusError {
  override name = "InvalidRequestError";
}

/** 404: no function of that name. */
export class NotFoundError extends StatusError {
  override name = "NotFoundError";
}

/** 429: the run queue is full; retry after `retryAfter` seconds (null: unknown). */
export class BusyError extends StatusError {
  override name = "BusyError";
  constructor(
    status: number,
    message: string,
    readonly retryAfter: number | null,
  ) {
    super(status, message);
  }
}

/** 5xx: the Docker engine (502) or the function store (503) failed. */
export class ServerError extends StatusError {
  override name = "ServerError";
}

/** A stream ended with an `error` chunk: the run or build could not start. */
export class RunError extends TinirunError {
  override name = "RunError";
  readonly kind: ErrorData["error"];
  constructor(readonly data: ErrorData) {
    super(`${data.error}: ${data.message}`);
    this.kind = data.error;
  }
}

/** A refusal's message: `message` of a JSON body (a body that breaks the schema), else the text. */
function messageOf(text: string): string {
  if (text.startsWith("{")) {
    try {
      const body: unknown = JSON.parse(text);
      if (body && typeof body === "object" && "message" in body && typeof body.message === "string") {
        return body.message;
      }
    } catch {
      // not JSON: the text is the message
    }
  }
  return text;
}

/** The error for an answer with an error status. */
async function errorFor(response: Response): Promise<StatusError> {
  const message = messageOf((await response.text()).trim()) || response.statusText;
  const status = response.status;
  if (status === 401) return new AuthenticationError(status, message);
  if (status === 400 || status === 413 || status === 422) {
    return new InvalidRequestError(status, message);
  }
  if (status === 404) return new NotFoundError(status, message);
  if (status === 429) {
    const after = Number.parseInt(response.headers.get("retry-after") ?? "", 10);
    return new BusyError(status, message, Number.isNaN(after) ? null : after);
  }
  if (status >= 500) return new ServerError(status, message);
  return new StatusError(status, message);
}

/** NDJSON lines of a response body, parsed; cancels the body when the caller stops early. */
export async function* readChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<Chunk> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffered += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) yield JSON.parse(line) as Chunk;
        newline = buffered.indexOf("\n");
      }
      if (done) break;
    }
    if (buffered.trim()) yield JSON.parse(buffered) as Chunk;
    finished = true;
  } finally {
    // Breaking out of the loop hangs up, and the service stops the run.
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** The result of a run's chunks; RunError when the stream ended with an `error` chunk. */
export async function resultOf(chunks: AsyncIterable<Chunk>): Promise<RunResult> {
  let result: RunResult | undefined;
  for await (const chunk of chunks) {
    if (chunk.event === "error") throw new RunError(chunk.data);
    if (chunk.event === "result") result = chunk.data;
  }
  if (!result) throw new TinirunError("the stream ended without a result");
  return result;
}

export interface ClientOptions {
  /** The service's root or its /api; default: $TINIRUN_URL, else http://127.0.0.1:8082. */
  url?: string;
  /** Its API key; default: $TINIRUN_API_KEY. */
  apiKey?: string;
  /** A fetch to use instead of the global one. */
  fetch?: typeof fetch;
}

/** Options of every call: an AbortSignal stops the request (and a streamed run). */
export interface CallOptions {
  signal?: AbortSignal;
}

type Query = NonNullable<operations["list_functions"]["parameters"]["query"]>;

/**
 * A client of one tinirun service.
 *
 *     const client = new TinirunClient({ url: "http://127.0.0.1:8082", apiKey: "secret" });
 *     for await (const chunk of client.runCodeStream({ lang: "python", code: "print(42)" })) {
 *       if (chunk.event === "stdout") process.stdout.write(chunk.data);
 *     }
 */
export class TinirunClient {
  readonly url: string;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof fetch;

  constructor(options: ClientOptions = {}) {
    let root = (options.url ?? process.env.TINIRUN_URL ?? "http://127.0.0.1:8082").replace(
      /\/+$/,
      "",
    );
    if (!root.includes("://")) root = `http://${root}`;
    this.url = root.endsWith("/api") ? root : `${root}/api`;
    const key = options.apiKey ?? process.env.TINIRUN_API_KEY;
    this.#headers = key ? { "X-Runner-Api-Key": key } : {};
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  async #request(
    method: string,
    path: string,
    body?: unknown,
    options: CallOptions & { accept?: string } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {
      ...this.#headers,
      Accept: options.accept ?? "application/json",
    };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response: Response;
    try {
      response = await this.#fetch(this.url + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: options.signal,
      });
    } catch (error) {
      if ((error as Error).name === "AbortError") throw error;
      const cause = (error as { cause?: Error }).cause;
      throw new TransportError(`${this.url + path}: ${cause?.message ?? String(error)}`);
    }
    if (!response.ok) throw await errorFor(response);
    return response;
  }

  async #json<T>(method: string, path: string, body?: unknown, options?: CallOptions): Promise<T> {
    return (await (await this.#request(method, path, body, options)).json()) as T;
  }

  async *#stream(path: string, body: unknown, options: CallOptions = {}): AsyncGenerator<Chunk> {
    const response = await this.#request("POST", path, body, {
      ...options,
      accept: "application/x-ndjson",
    });
    if (!response.body) throw new TinirunError("the stream has no body");
    yield* readChunks(response.body);
  }

  // --- one-off runs ------------------------------------------------------------------------

  /** Run code (POST /code/run) and stream its chunks; break to stop the run. */
  runCodeStream(body: RunRequest, options?: CallOptions): AsyncGenerator<Chunk> {
    return this.#stream("/code/run", body, options);
  }

  /** Run code and resolve with its result (the program failing is a result, not an error). */
  runCode(body: RunRequest, options?: CallOptions): Promise<RunResult> {
    return resultOf(this.runCodeStream(body, options));
  }

  // --- functions ---------------------------------------------------------------------------

  listFunctions(query: Query = {}, options?: CallOptions): Promise<FunctionListItem[]> {
    const params = new URLSearchParams();
    if (query.offset) params.set("offset", String(query.offset));
    if (query.limit != null) params.set("limit", String(query.limit));
    const search = params.size ? `?${params}` : "";
    return this.#json("GET", `/function${search}`, undefined, options);
  }

  getFunction(name: string, options?: CallOptions): Promise<FunctionInfo> {
    return this.#json("GET", `/function/${encodeURIComponent(name)}/info`, undefined, options);
  }

  getFunctionDetail(name: string, options?: CallOptions): Promise<FunctionDetail> {
    return this.#json("GET", `/function/${encodeURIComponent(name)}/detail`, undefined, options);
  }

  /** Create a function with its language's sample code; stream the image build. */
  createFunctionStream(name: string, language: Language, options?: CallOptions) {
    return this.#stream("/function", { name, language }, options);
  }

  /** Create a function, wait for its build, resolve with its info (RunError if it failed). */
  async createFunction(name: string, language: Language, options?: CallOptions) {
    await built(this.createFunctionStream(name, language, options));
    return this.getFunction(name, options);
  }

  /** Replace a function's code, description and dependencies; stream the rebuild. */
  updateFunctionStream(name: string, body: UpdateFunctionRequest, options?: CallOptions) {
    return this.#stream(`/function/${encodeURIComponent(name)}`, body, options);
  }

  /** Update a function, wait for its rebuild, resolve with its info. */
  async updateFunction(name: string, body: UpdateFunctionRequest, options?: CallOptions) {
    await built(this.updateFunctionStream(name, body, options));
    return this.getFunction(name, options);
  }

  /** Remove a function and its images (an extension of the original's API). */
  async deleteFunction(name: string, options?: CallOptions): Promise<void> {
    await this.#request("DELETE", `/function/${encodeURIComponent(name)}`, undefined, options);
  }

  /** Run a function with `input` on its standard input; resolve with the result. */
  runFunction(name: string, body: FunctionRunRequest, options?: CallOptions): Promise<RunResult> {
    return this.#json("POST", `/function/${encodeURIComponent(name)}/run`, body, options);
  }

  /** Run a function and stream its chunks. */
  runFunctionStream(name: string, body: FunctionRunRequest, options?: CallOptions) {
    return this.#stream(`/function/${encodeURIComponent(name)}/run/stream`, body, options);
  }
}

/** Follow a build to its end; RunError when it failed. */
async function built(chunks: AsyncIterable<Chunk>): Promise<void> {
  for await (const chunk of chunks) {
    if (chunk.event === "error") throw new RunError(chunk.data);
  }
}
