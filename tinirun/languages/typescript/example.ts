const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  console.log("Hello, world!");
  for (let i = 1; i <= 3; i++) {
    await sleep(500);
    console.log(`tick ${i}`);
  }
}

main();
