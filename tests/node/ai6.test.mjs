// ai 6 + @ai-sdk/gateway 3.x: spec v3 under /v3/ai.
import { defineSuite } from './suite.mjs';

defineSuite({ name: 'ai 6 (@ai-sdk/gateway 3.x, spec v3)', ai: 'ai6', gateway: 'gateway3', prefix: '/v3/ai', spec: 'v3' });
