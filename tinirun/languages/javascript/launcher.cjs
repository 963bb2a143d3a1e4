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
  // esbuild's service, when the boot has pre-started it (typescript's compile_prelude: an
  // `esbuild --service` outside this process's children, its stdin and stdout on two fifos,
  // that first prints its pid). A build there takes 2-3 ms against 8-10 for a new esbuild
  // process (Go's start, and the fork of this large process); the launcher warms it with a
  // throwaway build while it waits for the payload, and always stops it, and waits until the
  // process is gone, before the program loads. Only a build with no message counts: on any
  // error or warning (whose wording the service words for its JS API), or anything
  // unexpected, the command runs as a process after all, which prints its own messages.
  const esbuildService = () => {
    const fifo = '/tmp/.tinirun-esbuild';
    if (!fs.existsSync(`${fifo}.in`)) return null;
    let input = null;
    let output = null;
    let pid = 0;
    let pending = Buffer.alloc(0);
    const stop = () => {
      if (pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      if (input !== null) fs.closeSync(input);
      if (output !== null) fs.closeSync(output);
      input = output = null;
      // Gone, not only killed: the container's init reaps it (a zombie is still listed).
      const pause = new Int32Array(new SharedArrayBuffer(4));
      for (let waited = 0; pid && waited < 5000; waited += 0.1) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        Atomics.wait(pause, 0, 0, 0.1);
      }
      pid = 0;
    };
    const more = () => {
      const chunk = Buffer.alloc(1 << 16);
      const n = fs.readSync(output, chunk, 0, chunk.length, null);
      if (n === 0) throw new Error('esbuild service ended');
      pending = Buffer.concat([pending, chunk.subarray(0, n)]);
    };
    const take = (n) => {
      while (pending.length < n) more();
      const bytes = pending.subarray(0, n);
      pending = pending.subarray(n);
      return bytes;
    };
    // esbuild's stdio protocol (lib/shared/stdio_protocol.ts): a length-prefixed packet of an
    // id (request or response) and one tagged value.
    const encode = (id, value) => {
      const parts = [];
      const u32 = (n) => {
        const b = Buffer.alloc(4);
        b.writeUInt32LE(n >>> 0);
        parts.push(b);
      };
      const bytes = (b) => {
        u32(b.length);
        parts.push(b);
      };
      const put = (v) => {
        if (v === null) parts.push(Buffer.from([0]));
        else if (typeof v === 'boolean') parts.push(Buffer.from([1, +v]));
        else if (typeof v === 'number') {
          parts.push(Buffer.from([2]));
          u32(v);
        } else if (typeof v === 'string') {
          parts.push(Buffer.from([3]));
          bytes(Buffer.from(v, 'utf8'));
        } else if (v instanceof Uint8Array) {
          parts.push(Buffer.from([4]));
          bytes(v);
        } else if (Array.isArray(v)) {
          parts.push(Buffer.from([5]));
          u32(v.length);
          v.forEach(put);
        } else {
          parts.push(Buffer.from([6]));
          u32(Object.keys(v).length);
          for (const [key, item] of Object.entries(v)) {
            bytes(Buffer.from(key, 'utf8'));
            put(item);
          }
        }
      };
      u32(id << 1);
      put(value);
      const body = Buffer.concat(parts);
      const head = Buffer.alloc(4);
      head.writeUInt32LE(body.length);
      return Buffer.concat([head, body]);
    };
    const decode = (packet) => {
      let at = 0;
      const u32 = () => {
        at += 4;
        return packet.readUInt32LE(at - 4);
      };
      const bytes = () => {
        const n = u32();
        at += n;
        return packet.subarray(at - n, at);
      };
      const get = () => {
        switch (packet[at++]) {
          case 0: return null;
          case 1: return packet[at++] === 1;
          case 2: return u32() | 0;
          case 3: return bytes().toString('utf8');
          case 4: return bytes();
          case 5: return Array.from({ length: u32() }, get);
          case 6: {
            const value = {};
            for (let n = u32(); n > 0; n--) value[bytes().toString('utf8')] = get();
            return value;
          }
          default: throw new Error('esbuild service: bad packet');
        }
      };
      const id = u32();
      return { id: id >>> 1, response: (id & 1) === 1, value: get() };
    };
    let nextId = 0;
    const call = (request) => {
      const id = nextId++;
      fs.writeSync(input, encode(id, request));
      const packet = decode(take(take(4).readUInt32LE(0)));
      if (!packet.response || packet.id !== id) throw new Error('esbuild service: out of step');
      return packet.value;
    };
    // A build whose output is this one file, with no message of any kind.
    const clean = (result) => result !== null && typeof result === 'object' &&
      !('error' in result) && !('writeToStdout' in result) &&
      Array.isArray(result.errors) && result.errors.length === 0 &&
      Array.isArray(result.warnings) && result.warnings.length === 0;
    const build = (flags, write, stdin) => call({
      command: 'build', key: nextId, entries: [], flags: [...flags, '--log-level=silent'],
      write, stdinContents: stdin, stdinResolveDir: stdin === null ? null : process.cwd(),
      absWorkingDir: process.cwd(),
      // As the command reads them.
      nodePaths: process.env.NODE_PATH ? process.env.NODE_PATH.split(':') : [],
      context: false,
    });
    try {
      try {
        input = fs.openSync(`${fifo}.in`, 'w');
        output = fs.openSync(`${fifo}.out`, 'r');
      } finally {
        fs.rmSync(`${fifo}.in`, { force: true });
        fs.rmSync(`${fifo}.out`, { force: true });
      }
      while (!pending.includes(10)) more();
      pid = Number(take(pending.indexOf(10) + 1).toString().trim());
      if (!Number.isInteger(pid) || pid <= 1) throw new Error('esbuild service: no pid');
      take(take(4).readUInt32LE(0));  // its version
      const warm = build(['--bundle', '--platform=node', '--format=esm', '--loader=ts',
        '--sourcemap=inline'], false, Buffer.from('const n: number = 1;\nconsole.log(n);\n'));
      if (!clean(warm)) throw new Error('esbuild service: warm-up failed');
    } catch {
      stop();
      return null;
    }
    return {
      // True when the service built `argv` (an esbuild command) with no message.
      build: (argv) => {
        try {
          return clean(build(argv.slice(1), true, null));
        } catch {
          return false;
        }
      },
      stop,
    };
  };
  const esbuild = esbuildService();
  const go = fs.openSync('/tmp/.tinirun-go', 'w');
  fs.unlinkSync('/tmp/.tinirun-go'); // both ends are open: the boot shell needs its name no more
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
  const fail = (code) => {
    if (esbuild) esbuild.stop();
    process.exit(code);
  };
  if (fs.existsSync('.tinirun/prepare.sh')) {
    const code = run('/bin/sh', ['.tinirun/prepare.sh']);
    if (code !== 0) fail(code);
  }
  if (fs.existsSync('.tinirun/compile')) {
    const argv = fs.readFileSync('.tinirun/compile').toString('utf8').split('\0').slice(0, -1);
    if (!(argv[0] === 'esbuild' && esbuild && esbuild.build(argv))) {
      const code = run(argv[0], argv.slice(1));
      if (code !== 0) fail(code);
    }
  }
  if (esbuild) esbuild.stop();
  const args = fs.readFileSync('.tinirun/args').toString('utf8').split('\0').slice(0, -1);
  process.argv.push(...args);
})();
