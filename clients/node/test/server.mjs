// The service the tests talk to: $TINIRUN_URL (with $TINIRUN_API_KEY) when set, else one
// started here from the repository's Python package, on a free port, stopped afterwards.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_DIR, python } from "../scripts/openapi.mjs";

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function answers(url) {
  try {
    return (await fetch(`${url}/api/openapi.json`)).ok;
  } catch {
    return false;
  }
}

/** { url, apiKey, stop() } of a service that answers. */
export async function startService() {
  if (process.env.TINIRUN_URL) {
    return { url: process.env.TINIRUN_URL, apiKey: process.env.TINIRUN_API_KEY, stop() {} };
  }
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "tinirun-node-"));
  const apiKey = "node-test-key";
  const env = { ...process.env, RUNNER_API_KEY: apiKey, RUNNER_PORT: String(port),
                RUNNER_DATA_DIR: dataDir, RUNNER_LOG_LEVEL: "warn" };
  const child = spawn(python(), ["-m", "tinirun.cli", "serve"], { cwd: REPO_DIR, env,
                                                                  stdio: ["ignore", "inherit", "inherit"] });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}`);
    if (await answers(url)) return { url, apiKey, stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error("the service did not start within 30 s");
}
