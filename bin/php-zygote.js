#!/usr/bin/env node
'use strict';
require('../dist/lib/http/cli.js')
  .main(process.argv.slice(2))
  .then((code) => process.exit(code), (error) => {
    process.stderr.write(`php-zygote: ${error && error.message ? error.message : error}\n`);
    process.exit(1);
  });
