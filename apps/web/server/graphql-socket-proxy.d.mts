import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

export declare function withSessionToken(text: string, token: string): string;
export declare function graphqlSocketProxy(apiUrl: string): {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
};
