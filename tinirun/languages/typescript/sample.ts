export async function run(input: string): Promise<string> {
  const name = input.trim() || "world";
  return `Hello, ${name}!`;
}
