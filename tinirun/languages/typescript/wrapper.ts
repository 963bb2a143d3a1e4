// Calls the user's run(input) with all of standard input and prints what it returns.
import { run } from "./function";

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
try {
  const result = await run(Buffer.concat(chunks).toString("utf8"));
  process.stdout.write(result === undefined || result === null ? "" : String(result));
} catch (err) {
  console.error(err instanceof Error && err.stack ? err.stack : String(err));
  process.exitCode = 1;
}
