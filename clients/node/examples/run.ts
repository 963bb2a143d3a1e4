// Run a Python snippet, print its output as it comes, then its result; and call a function.
//   TINIRUN_URL=http://127.0.0.1:8082 TINIRUN_API_KEY=secret npm run example
import { RunError, TinirunClient } from "../src/index.js";

const client = new TinirunClient(); // url and key from TINIRUN_URL and TINIRUN_API_KEY

const code = "import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.2)\n";
for await (const chunk of client.runCodeStream({ lang: "python", code })) {
  switch (chunk.event) {
    case "stdout":
      process.stdout.write(chunk.data);
      break;
    case "stderr":
      process.stderr.write(chunk.data);
      break;
    case "result":
      console.log(`exit ${chunk.data.exit_code} in ${chunk.data.duration_ms} ms`);
      break;
    case "error":
      throw new RunError(chunk.data);
    default:
      console.error(`[${chunk.event}] ${chunk.data}`);
  }
}

// The one-call form: resolves with the result.
const result = await client.runCode({ lang: "javascript", code: "console.log(6 * 7)" });
console.log(result.stdout.trim()); // 42

// A function: built once, then run with an input.
const name = `example-${process.pid}`.replace(/[0-9]/g, (d) => "abcdefghij"[Number(d)] ?? "");
await client.createFunction(name, "python");
await client.updateFunction(name, {
  code: "def run(input: str) -> str:\n    return input[::-1]\n",
  description: "Reverses its input",
});
console.log((await client.runFunction(name, { input: "tinirun" })).stdout); // nurinit
await client.deleteFunction(name);
