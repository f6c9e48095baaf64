// One MCP server instance over one typed client: the tools of tools.ts registered with their
// schemas, answers as structured content, refusals as tool errors in the API's own words.
import { type CallToolResult, fromJsonSchema, McpServer } from '@modelcontextprotocol/server';
import { isRefusal, type LedgerApiError, type LedgerClient } from '../client/index.js';
import type { JsonSchema } from './api-schemas.js';
import type { McpToolName } from './tool-names.js';
import type { ToolDefinition } from './tools.js';

export interface McpSettings {
  /** Tools neither listed nor callable (config mcp.tools.disabled). */
  disabled: readonly McpToolName[];
}

const VERSION = '0.1.0';

const INSTRUCTIONS =
  'changeledger keeps changes behind review. To change something: read it (get_resource), ' +
  'propose_change_set, submit_change_set if it is not approved at once, wait_for_decision, then ' +
  'apply_change_set when approved (plan_change_set shows what apply would do), and ' +
  'rollback_change_set to undo. You cannot approve your own change-sets or skip an approval: the ' +
  'ledger refuses, and every refusal says why and, where it can, how to fix it.';

/**
 * The API's refusal as a tool error: its code, message, details and fix, for the agent to act on.
 * A refusal the server asked to be retried (OVERLOADED, UNAVAILABLE, RATE_LIMITED: the client's own
 * retries ran out) says so, `retryable` with `retry_after_s`: the call did nothing and may be made
 * again as it is after that wait.
 */
function refusalResult(refusal: LedgerApiError): CallToolResult {
  const { code, message } = refusal.body;
  const structured = {
    code,
    message,
    ...(refusal.details.length > 0 ? { details: refusal.details } : {}),
    ...(refusal.fix !== undefined ? { fix: refusal.fix } : {}),
    ...(refusal.retryAfterS !== null ? { retryable: true, retry_after_s: refusal.retryAfterS } : {}),
  };
  const again =
    refusal.retryAfterS !== null
      ? `\nretryable: nothing was done; make the same call again in ${refusal.retryAfterS} s`
      : '';
  const text = `${refusal.message}${again}`;
  return { isError: true, content: [{ type: 'text', text }], structuredContent: structured };
}

const schema = (json: JsonSchema) =>
  fromJsonSchema<Record<string, unknown>>(json as Parameters<typeof fromJsonSchema>[0]);

export function buildLedgerMcpServer(
  client: LedgerClient,
  tools: readonly ToolDefinition[],
  settings: McpSettings,
): McpServer {
  const server = new McpServer({ name: 'changeledger', version: VERSION }, { instructions: INSTRUCTIONS });
  for (const tool of tools) {
    const registered = server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: schema(tool.input),
        outputSchema: schema(tool.output),
        annotations: { title: tool.title, ...tool.annotations, openWorldHint: false },
      },
      async (args, ctx): Promise<CallToolResult> => {
        try {
          const { result, summary } = await tool.run(client, args, ctx.mcpReq.signal);
          return {
            content: [
              { type: 'text', text: summary },
              { type: 'text', text: JSON.stringify(result) },
            ],
            structuredContent: result,
          };
        } catch (error) {
          if (isRefusal(error)) return refusalResult(error);
          throw error;
        }
      },
    );
    if (settings.disabled.includes(tool.name)) registered.disable();
  }
  return server;
}
