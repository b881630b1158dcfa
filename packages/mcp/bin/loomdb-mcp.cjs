#!/usr/bin/env node
// The `loomdb-mcp` executable. It is checked in (the build output is not) so
// that npm links it on a fresh `npm install`, which runs before the build.
'use strict';
require('../dist/bin.cjs');
