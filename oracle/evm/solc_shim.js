#!/usr/bin/env node
// A solc-compatible command backed by solc-js, for machines with no native solc.
// It implements what py-solc-x and ezkl's verifier builder call: `--version` and
// `--standard-json` (input on stdin, output on stdout).
'use strict';

const solc = require('solc');

const args = process.argv.slice(2);

function nativeStyleVersion() {
  // solc-js reports e.g. "0.8.20+commit.a1b79de6.Emscripten.clang"; tools parse the
  // native form, so present the same version with a native-looking platform suffix.
  return solc.version().replace(/\.Emscripten\.clang$/, '.Linux.g++');
}

if (args.includes('--version') || args.includes('-v')) {
  process.stdout.write('solc, the solidity compiler commandline interface\n');
  process.stdout.write(`Version: ${nativeStyleVersion()}\n`);
  process.exit(0);
}

if (args.includes('--standard-json')) {
  const chunks = [];
  process.stdin.on('data', (chunk) => chunks.push(chunk));
  process.stdin.on('end', () => {
    const input = Buffer.concat(chunks).toString('utf8');
    // No process.exit here: it would cut off output still buffered for a pipe.
    process.stdout.write(solc.compile(input));
  });
} else {
  process.stderr.write(`solc shim: only --version and --standard-json are supported (got: ${args.join(' ')})\n`);
  process.exit(2);
}
