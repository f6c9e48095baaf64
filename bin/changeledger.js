#!/usr/bin/env node
// Policies' time-zone accessors (now.getHours("Europe/Berlin")) are computed by cel-js through the
// process's local time: running in UTC keeps them exact across daylight-saving changes.
process.env.TZ = 'UTC';
const { runCli } = await import('../dist/cli/main.js');

process.exitCode = await runCli(process.argv.slice(2));
