// The names of the MCP server's tools, alone in a module of their own: the configuration schema
// lists them (mcp.tools.disabled) without loading the MCP SDK.

export const MCP_TOOL_NAMES = [
  'propose_change_set',
  'get_change_set',
  'list_change_sets',
  'plan_change_set',
  'submit_change_set',
  'wait_for_decision',
  'decide_change_set',
  'apply_change_set',
  'rollback_change_set',
  'get_resource',
] as const;

export type McpToolName = (typeof MCP_TOOL_NAMES)[number];
