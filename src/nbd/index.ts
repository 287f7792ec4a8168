export { serveNbd, type NbdServer, type ServeNbdOptions, type NbdLimits } from './server.js';
export { NBD_LIMITS, DEFAULT_PORT as NBD_DEFAULT_PORT } from './protocol.js';
