// Calls the user's run(input) with all of standard input and prints what it returns.
import { run } from "/app/function.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
try {
  const result = await run(Buffer.concat(chunks).toString("utf8"));
  process.stdout.write(result === undefined || result === null ? "" : String(result));
} catch (err) {
  console.error(err instanceof Error && err.stack ? err.stack : String(err));
  process.exitCode = 1;
}
