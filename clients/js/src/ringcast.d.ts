// Types of the ringcast JavaScript client (hand-written; the code is in src/*.js).

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Where a history room's stream stands: the last seq seen in one epoch. */
export interface Position {
  seq: number;
  epoch: string;
}

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed';
export type SubscriptionState = 'unsubscribed' | 'subscribing' | 'subscribed';

/** The subset of the WebSocket API the client uses (browsers' WebSocket, Node 22+, `ws`). */
export interface WebSocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Time source and timers; the default is Date.now and the global timers. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ClientOptions {
  /** Required where there is no global WebSocket (Node before 22): e.g. `require('ws')`. */
  WebSocket?: WebSocketConstructor;
  /** Called before every connect; `reason` is 'expired' after the server closed for an expired token, or refused the handshake with HTTP 401/403 (seen only where the WebSocket implementation reports it, e.g. `ws`): fetch a fresh one. */
  getToken?: (ctx: { reason: 'connect' | 'expired' }) => string | null | Promise<string | null>;
  /** Development servers without JWT: the `user` query parameter. */
  user?: string;
  /** Reconnect delays, full jitter: attempt n waits a random time in [0, min(max, min * 2^n)]. Defaults 500 and 20000. */
  minReconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** Time to get from opening the socket to `welcome`. Default 10000. */
  connectTimeoutMs?: number;
  /** Ping after this much silence from the server. Default 20000. */
  pingIntervalMs?: number;
  /** The connection is dead when no frame follows a ping this long. Default 10000. */
  pongTimeoutMs?: number;
  /** Default timeout of publish, send and presence. Default 10000. */
  callTimeoutMs?: number;
  /** How often deadlines are compared with the clock, at most. Default 1000. */
  tickMs?: number;
  /** Calls made while not connected: wait for the connection (bounded by maxQueued), or fail at once with 'offline'. Default 'queue'. */
  whileDisconnected?: 'queue' | 'reject';
  /** Default 100; past it calls fail with 'queue_full'. */
  maxQueued?: number;
  /** Answers requests (`req`) sent to this user: the returned value goes back as `res`. */
  onRequest?: (data: Json, ctx: { from: string }) => Json | undefined | Promise<Json | undefined>;
  /** For tests and unusual environments. */
  clock?: Clock;
  random?: () => number;
  window?: EventTarget;
  document?: EventTarget & { visibilityState?: string };
}

export interface ConnectedEvent {
  sid: string;
  user: string;
  node: string;
}
export interface DisconnectedEvent {
  code: number;
  reason: string;
  /** false: the client stopped (state 'closed') and stays so until connect(); e.g. reason 'handshake refused: HTTP 401'. */
  reconnect: boolean;
  /** When reconnecting: the wait before the next attempt. */
  delayMs?: number;
}

export interface ClientEvents {
  connecting: (e: { attempt: number }) => void;
  connected: (e: ConnectedEvent) => void;
  disconnected: (e: DisconnectedEvent) => void;
  error: (e: Error) => void;
  /** A direct message (`send`, POST /api/send). */
  message: (data: Json, ctx: { from: string }) => void;
}

export interface SubscribedEvent {
  /** Only when subscribed with a position (a resubscribe, or the `since` option): were all missed messages replayed? */
  recovered: boolean | undefined;
  seq: number | null;
  epoch: string | null;
}
export interface PresenceEvent {
  room: string;
  user: string;
  info: Json;
}

export interface SubscriptionEvents {
  subscribing: (e: { reason: 'subscribe' | 'disconnected' | 'gap' | 'retry' }) => void;
  subscribed: (e: SubscribedEvent) => void;
  /** recovered was false: messages were lost, reload the room's state. */
  recoveryFailed: (e: SubscribedEvent) => void;
  unsubscribed: (e: { reason: 'unsubscribe' | 'error'; error?: RingcastError }) => void;
  message: (data: Json, ctx: { room: string; from: string; seq?: number }) => void;
  join: (e: PresenceEvent) => void;
  leave: (e: PresenceEvent) => void;
  /** Messages may have been missed (server `gap` frame, or a seq jump); history rooms resubscribe on their own. */
  gap: (e: { room: string; reason: 'server' | 'seq' }) => void;
  /** The `sub` was refused: not_allowed, limit, ... end the subscription; rate_limited, unavailable and internal retry after a backoff. */
  error: (e: RingcastError) => void;
}

export declare class Emitter<Events extends { [K in keyof Events]: (...args: any[]) => void }> {
  on<K extends keyof Events>(event: K, fn: Events[K]): () => void;
  once<K extends keyof Events>(event: K, fn: Events[K]): () => void;
  off<K extends keyof Events>(event: K, fn: Events[K]): void;
}

export interface SubscribeOptions {
  /** Receive join/leave events. */
  presence?: boolean;
  /** Resume from a position saved earlier (Subscription.position). */
  since?: Position;
  /** Called when a resubscribe could not recover every missed message. */
  onRecoveryFailed?: (e: SubscribedEvent, sub: Subscription) => void;
}

export interface PresenceResult {
  users: { user: string; info: Json; conns: number }[];
  count: number;
  truncated: boolean;
}

export declare class Client extends Emitter<ClientEvents> {
  constructor(url: string, options?: ClientOptions);
  readonly url: string;
  readonly state: ConnectionState;
  readonly session: ConnectedEvent | null;
  readonly subscriptions: ReadonlyMap<string, Subscription>;
  connect(): void;
  disconnect(): void;
  subscribe(room: string, options?: SubscribeOptions): Subscription;
  publish(room: string, data: Json, options?: { echo?: boolean; timeoutMs?: number }): Promise<{ seq?: number }>;
  send(to: string | string[], data: Json, options?: { timeoutMs?: number }): Promise<void>;
  request(to: string, data: Json, options?: { timeoutMs?: number }): Promise<Json>;
  presence(room: string, options?: { timeoutMs?: number }): Promise<PresenceResult>;
}

export declare class Subscription extends Emitter<SubscriptionEvents> {
  readonly client: Client;
  readonly room: string;
  readonly state: SubscriptionState;
  /** Last seq delivered, in a room with history. */
  readonly seq: number | null;
  readonly epoch: string | null;
  readonly position: Position | null;
  unsubscribe(): void;
  publish(data: Json, options?: { echo?: boolean; timeoutMs?: number }): Promise<{ seq?: number }>;
  presence(options?: { timeoutMs?: number }): Promise<PresenceResult>;
}

export declare class Backoff {
  constructor(minMs: number, maxMs: number, random?: () => number);
  attempt: number;
  next(): number;
  reset(): void;
}

export type ErrorCode =
  | 'bad_json' | 'bad_command' | 'not_allowed' | 'too_large' | 'rate_limited' | 'no_such_user'
  | 'timeout' | 'limit' | 'unavailable' | 'internal' | 'disconnected' | 'offline' | 'queue_full'
  | 'closed' | 'refused';

export declare class RingcastError extends Error {
  constructor(code: ErrorCode, reason: string);
  readonly code: ErrorCode;
  readonly reason: string;
  /** The HTTP status of a refused handshake (code 'refused', the client's `error` event). */
  readonly status?: number;
}
