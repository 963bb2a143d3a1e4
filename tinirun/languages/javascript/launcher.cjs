// The launcher of a pre-started Node (see tinirun/runner/boot.py), javascript's and
// typescript's. The warm container runs `node --require <this file> main.js` (the language's
// run command with this preload) before main.js exists; Node runs preloads before it resolves
// and loads the entry point. This one removes its own traces (the file, its --require in
// process.execArgv, its require.cache entry), waits for the payload on fd 3, unpacks it (the
// program's files, and .tinirun/stdin in place, which is already fd 0), tells the boot shell
// the time limit, runs the compile steps if the payload has them (.tinirun/prepare.sh and
// .tinirun/compile: esbuild writes the entry point), appends the run's arguments to
// process.argv and returns: Node then loads main.js as it always does (module detection,
// require.main, import.meta, stack traces, exit codes), in a process that has run nothing
// else.
'use strict';
(() => {
  const fs = require('fs');
  const path = require('path');
  // Load Node's socket streams now, while nothing waits: the first write to stdout or stderr
  // (a pipe here) needs them and would otherwise load them on the run's critical path. Only
  // the built-in modules are loaded (as a plain start does on the program's first console.log);
  // the standard streams themselves are left alone, so fd 1 and 2 keep their blocking mode
  // until the program first uses them.
  require('net');
  fs.unlinkSync(__filename);
  const at = process.execArgv.indexOf('--require');
  if (at >= 0 && process.execArgv[at + 1] === __filename) process.execArgv.splice(at, 2);
  delete require.cache[__filename];
  const go = fs.openSync('/tmp/.tinirun-go', 'w');
  // Read up to the archive's end block (as tar does), not to the end of input: over a TLS
  // connection to the engine the service cannot half-close the container's stdin.
  const chunks = [];
  const buffer = Buffer.alloc(1 << 20);
  let data = Buffer.alloc(0);
  let scan = 0;
  const ended = () => {
    while (scan + 512 <= data.length && !data.subarray(scan, scan + 512).every((b) => b === 0)) {
      const raw = data.subarray(scan + 124, scan + 136);
      const nul = raw.indexOf(0);
      const size = parseInt((nul >= 0 ? raw.subarray(0, nul) : raw).toString().trim() || '0', 8);
      scan += 512 + Math.ceil(size / 512) * 512;
    }
    return scan + 512 <= data.length;
  };
  for (;;) {
    let n;
    try {
      n = fs.readSync(3, buffer, 0, buffer.length, null);
    } catch (error) {
      if (error.code === 'EAGAIN') continue;
      if (error.code === 'EOF') break;
      throw error;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buffer.subarray(0, n)));
    data = Buffer.concat(chunks);
    if (ended()) break;
  }
  fs.closeSync(3);
  let offset = 0;
  let longName = null;
  const field = (header, start, end) => {
    const raw = header.subarray(start, end);
    const nul = raw.indexOf(0);
    return nul >= 0 ? raw.subarray(0, nul) : raw;
  };
  while (offset + 512 <= data.length) {
    const header = data.subarray(offset, offset + 512);
    offset += 512;
    if (header.every((b) => b === 0)) break;
    let name = field(header, 0, 100).toString('utf8');
    const size = parseInt(field(header, 124, 136).toString().trim() || '0', 8);
    const kind = String.fromCharCode(header[156]);
    const body = data.subarray(offset, offset + size);
    offset += Math.ceil(size / 512) * 512;
    if (kind === 'L') {
      longName = field(body, 0, body.length).toString('utf8');
      continue;
    }
    if (longName !== null) {
      name = longName;
      longName = null;
    }
    if (kind === '5') {
      fs.mkdirSync(name, { recursive: true });
    } else if (kind === '0' || kind === '\0') {
      fs.mkdirSync(path.dirname(name), { recursive: true });
      fs.writeFileSync(name, body, { mode: 0o644 });
    }
  }
  fs.writeSync(go, fs.readFileSync('.tinirun/timeout', 'utf8').trim() + '\n');
  fs.closeSync(go);
  // A language that compiles first (typescript): its compile steps, as the shell boot's run
  // script has them (the type check and a compile that needs a shell in .tinirun/prepare.sh,
  // then a plain compile command, started without a shell); a failure ends the run with its
  // status, before the program is loaded.
  const run = (file, argv) => {
    const step = require('child_process').spawnSync(file, argv,
      { stdio: ['ignore', 'inherit', 'inherit'] });
    if (step.error) {
      fs.writeSync(2, `${step.error.path}: ${step.error.code}\n`);
      return 127;
    }
    if (step.status !== null) return step.status;
    return 128 + (require('os').constants.signals[step.signal] ?? 0);  // as a shell says
  };
  if (fs.existsSync('.tinirun/prepare.sh')) {
    const code = run('/bin/sh', ['.tinirun/prepare.sh']);
    if (code !== 0) process.exit(code);
  }
  if (fs.existsSync('.tinirun/compile')) {
    const argv = fs.readFileSync('.tinirun/compile').toString('utf8').split('\0').slice(0, -1);
    const code = run(argv[0], argv.slice(1));
    if (code !== 0) process.exit(code);
  }
  const args = fs.readFileSync('.tinirun/args').toString('utf8').split('\0').slice(0, -1);
  process.argv.push(...args);
})();
