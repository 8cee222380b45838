// ai 5 + @ai-sdk/gateway 2.x: spec v2 under /v1/ai (the 2.x default baseURL's path).
import { defineSuite } from './suite.mjs';

defineSuite({ name: 'ai 5 (@ai-sdk/gateway 2.x, spec v2)', ai: 'ai5', gateway: 'gateway2', prefix: '/v1/ai', spec: 'v2' });
