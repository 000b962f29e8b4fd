#!/usr/bin/env node
// The installed command. The TypeScript build (npm run build, run by npm install) writes dist/.
import "../dist/src/cli/main.js";
