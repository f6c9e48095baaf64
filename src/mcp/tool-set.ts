// The tools with their schemas, read once from the API document the typed client is generated from.
import document from '../client/openapi.json' with { type: 'json' };
import { type ApiDocument, ApiSchemas } from './api-schemas.js';
import { type ToolDefinition, toolDefinitions } from './tools.js';

export const TOOLS: readonly ToolDefinition[] = toolDefinitions(new ApiSchemas(document as unknown as ApiDocument));
