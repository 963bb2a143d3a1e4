const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

console.log("Hello, world!");
for (let i = 1; i <= 3; i++) {
  await sleep(500);
  console.log(`tick ${i}`);
}
