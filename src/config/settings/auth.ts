import { flagSwitch, oneOf, text } from './codecs.js';
import { setting } from './types.js';

/**
 * Who the user is. Gateways authenticate; workers do too when a proxy
 * reaches them directly (affinity session, ip, none) or they run alone.
 */
export const AUTH_SETTINGS = [
  setting({
    name: 'auth',
    codec: oneOf(['none', 'apikey', 'jwt'] as const),
    default: 'none',
    roles: ['gateway', 'direct'],
    help: 'who the user is: none (the client IP), apikey or jwt',
    get: (c) => c.auth.mode,
    set: (c, v) => (c.auth.mode = v),
  }),
  setting({
    name: 'apiKeys',
    codec: text('file', 'the path of a file: JSON {"key":"user"} or lines "key user"'),
    default: undefined,
    roles: ['gateway', 'direct'],
    help: 'API keys file: JSON {"key":"user"} or lines "key user" (gen: the path inside the container)',
    get: (c) => c.auth.apiKeysFile,
    set: (c, v) => (c.auth.apiKeysFile = v),
  }),
  setting({
    name: 'jwtSecret',
    codec: text('secret'),
    default: undefined,
    roles: ['gateway', 'direct'],
    secret: true,
    help: 'HS256 secret for --auth jwt',
    get: (c) => c.auth.jwtSecret,
    set: (c, v) => (c.auth.jwtSecret = v),
  }),
  setting({
    name: 'jwksUrl',
    codec: text('url', 'an https:// (or http://) URL'),
    default: undefined,
    roles: ['gateway', 'direct'],
    help: 'JWKS endpoint for --auth jwt',
    get: (c) => c.auth.jwksUrl,
    set: (c, v) => (c.auth.jwksUrl = v),
  }),
  setting({
    name: 'jwtIssuer',
    codec: text('iss'),
    default: undefined,
    roles: ['gateway', 'direct'],
    help: 'required JWT issuer',
    get: (c) => c.auth.jwtIssuer,
    set: (c, v) => (c.auth.jwtIssuer = v),
  }),
  setting({
    name: 'jwtAudience',
    codec: text('aud'),
    default: undefined,
    roles: ['gateway', 'direct'],
    help: 'required JWT audience',
    get: (c) => c.auth.jwtAudience,
    set: (c, v) => (c.auth.jwtAudience = v),
  }),
  setting({
    name: 'jwtAllowNoExp',
    codec: flagSwitch,
    default: false,
    roles: ['gateway', 'direct'],
    help: 'accept JWTs without an exp claim (refused by default: they never expire)',
    get: (c) => c.auth.jwtAllowNoExp,
    set: (c, v) => (c.auth.jwtAllowNoExp = v),
  }),
  setting({
    name: 'resourceMetadata',
    codec: text('url'),
    default: undefined,
    roles: ['gateway', 'direct'],
    help: 'RFC 9728 protected-resource metadata URL, advertised in WWW-Authenticate',
    get: (c) => c.auth.resourceMetadata,
    set: (c, v) => (c.auth.resourceMetadata = v),
  }),
];
