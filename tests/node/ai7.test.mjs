// ai 7 + @ai-sdk/gateway 4.x: spec v4 under /v4/ai.
import { defineSuite } from './suite.mjs';

defineSuite({ name: 'ai 7 (@ai-sdk/gateway 4.x, spec v4)', ai: 'ai', gateway: '@ai-sdk/gateway', prefix: '/v4/ai', spec: 'v4' });
