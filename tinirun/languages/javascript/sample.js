export async function run(input) {
  const name = input.trim() || "world";
  return `Hello, ${name}!`;
}
