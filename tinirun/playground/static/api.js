// Talking to the service: the API key kept in the browser, HTTP failures turned into messages
// a person can act on, and NDJSON streams read chunk by chunk as they arrive.

const KEY_STORAGE = "tinirun.apiKey";
const API = "api/"; // relative, so the page works behind a path prefix too

export const apiKey = {
  get: () => localStorage.getItem(KEY_STORAGE) || "",
  set(value) {
    if (value) localStorage.setItem(KEY_STORAGE, value);
    else localStorage.removeItem(KEY_STORAGE);
  },
};

/** A failure worth telling the person; `kind` lets the page point at the cause. */
export class ApiError extends Error {
  constructor(message, kind = "other", status = 0) {
    super(message);
    this.kind = kind;
    this.status = status;
  }
}

export const LOST = "The connection to the service was lost. Check that it is running, then try again.";

/** A refusal's message: `message` of a JSON body (a body that breaks the schema), else the text. */
function messageOf(text) {
  try {
    const body = JSON.parse(text);
    if (body && typeof body.message === "string") return body.message;
  } catch {
    // plain text
  }
  return text;
}

async function failure(response) {
  const text = messageOf((await response.text().catch(() => "")).trim());
  switch (response.status) {
    case 401:
      return new ApiError("The API key was refused. Paste the service's key (RUNNER_API_KEY) above.", "key", 401);
    case 429: {
      const wait = response.headers.get("Retry-After");
      return new ApiError(`The service is busy: its run queue is full. Try again${wait ? ` in ${wait} s` : " shortly"}.`, "busy", 429);
    }
    case 503:
      return new ApiError(`The service cannot reach its function store: ${text || "try again shortly"}.`, "unavailable", 503);
    case 502:
      return new ApiError(`The service cannot reach its Docker engine: ${text}`, "docker", 502);
    default:
      return new ApiError(text || `The service answered ${response.status}.`, "request", response.status);
  }
}

/**
 * Whether the service takes `key`, by one cheap authenticated request: its languages (which
 * the page uses too). Resolves with them; rejects with ApiError ("key" when refused).
 */
export async function checkKey(key) {
  let response;
  try {
    response = await fetch(`${API}languages`, { headers: { "X-Runner-Api-Key": key, Accept: "application/json" } });
  } catch {
    throw new ApiError(LOST, "connection");
  }
  if (response.status === 404) return null; // a service without /api/languages: the key is not checked
  if (!response.ok) throw await failure(response);
  return response.json();
}

async function send(method, path, body, signal, accept) {
  const key = apiKey.get();
  if (!key) throw new ApiError("Paste the service's API key above first.", "key");
  const headers = { "X-Runner-Api-Key": key, Accept: accept };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(API + path, {
      method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(LOST, "connection");
  }
  if (!response.ok) throw await failure(response);
  return response;
}

/** A JSON answer (null for 204). */
export async function call(method, path, body) {
  const response = await send(method, path, body, undefined, "application/json");
  return response.status === 204 ? null : response.json();
}

/**
 * POST `body` to a streaming route and call `onChunk` with each chunk as it arrives.
 * Resolves with the last chunk; rejects with ApiError, or AbortError when `signal` aborts
 * (aborting closes the connection, and the service then removes the run's container).
 */
export async function stream(path, body, onChunk, signal) {
  const response = await send("POST", path, body, signal, "application/x-ndjson");
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let last = null;
  const take = (line) => {
    if (!line.trim()) return;
    last = JSON.parse(line);
    onChunk(last);
  };
  for (;;) {
    let part;
    try {
      part = await reader.read();
    } catch (error) {
      if (error.name === "AbortError" || signal?.aborted) throw error;
      throw new ApiError(LOST, "connection");
    }
    if (part.done) break;
    buffer += decoder.decode(part.value, { stream: true });
    const lines = buffer.split("\n");
    buffer = lines.pop();
    lines.forEach(take);
  }
  take(buffer + decoder.decode());
  return last;
}
