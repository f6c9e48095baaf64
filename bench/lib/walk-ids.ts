// autocannon over many paths, for read-latency's many-ids run: every request takes the next path of
// the list (the connections walk it together, round and round), so no one row stays hot. Runs in a
// process of its own like the autocannon CLI; prints the same JSON result. Arguments: base URL,
// bearer token, connections, seconds, then the paths as one JSON array on stdin.
import { createRequire } from 'node:module';

type Run = (options: Record<string, unknown>) => Promise<unknown>;
const autocannon = createRequire(import.meta.url)('autocannon') as Run;

const [base, token, connections, seconds] = process.argv.slice(2);
let input = '';
for await (const chunk of process.stdin) input += chunk;
const paths = JSON.parse(input) as string[];
let next = Math.floor(Math.random() * paths.length);

const result = await autocannon({
  url: base!,
  connections: Number(connections),
  duration: Number(seconds),
  headers: { authorization: `Bearer ${token}` },
  requests: [
    {
      setupRequest: (request: { path: string }) => {
        request.path = paths[next++ % paths.length]!;
        return request;
      },
    },
  ],
});
console.log(JSON.stringify(result));
