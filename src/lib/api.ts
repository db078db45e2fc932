/**
 * The library's public types. They are defined in client/publicApi.ts, a leaf module below both the client
 * layer and this one (client code needs them too and must not import from the library above it).
 */
export type * from '../client/publicApi.ts';
