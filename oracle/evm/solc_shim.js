#!/usr/bin/env node
// A solc-compatible command backed by solc-js, for machines with no native solc.
// It implements what py-solc-x and ezkl's verifier builder call: `--version` and
// `--standard-json` (input on stdin, output on stdout), resolving imports the way
// native solc does with `--base-path` and `--include-path`.
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');

const args = process.argv.slice(2);

function nativeStyleVersion() {
  // solc-js reports e.g. "0.8.20+commit.a1b79de6.Emscripten.clang"; tools parse the
  // native form, so present the same version with a native-looking platform suffix.
  return solc.version().replace(/\.Emscripten\.clang$/, '.Linux.g++');
}

function optionValues(name) {
  const values = [];
  args.forEach((arg, i) => {
    if (arg === name && i + 1 < args.length) values.push(args[i + 1]);
  });
  return values;
}

const importRoots = [...optionValues('--base-path'), ...optionValues('--include-path')];

function findImports(unitName) {
  for (const root of importRoots) {
    const candidate = path.join(root, unitName);
    if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, 'utf8') };
  }
  return { error: `File not found in ${importRoots.join(', ') || '(no --base-path/--include-path)'}: ${unitName}` };
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
    process.stdout.write(solc.compile(input, { import: findImports }));
  });
} else {
  process.stderr.write(`solc shim: only --version and --standard-json are supported (got: ${args.join(' ')})\n`);
  process.exit(2);
}
