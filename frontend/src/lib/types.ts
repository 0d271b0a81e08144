// Shapes of the cafleet server's JSON API. The records themselves are generated from the
// server's Rust types into ./wire.ts (a Rust test fails when that file is out of date), so
// these names are the frontend's words for them.

import type {
  Activity,
  AgentCard,
  FleetSummary,
  MessageView,
  MonitorCard,
  RuntimeView,
  WebSent,
} from './wire';

export type {
  AgentKind,
  AgentRole,
  AgentStatus,
  DeliverMode,
  DeliveryState,
  MessageStatus,
} from './wire';

export type Fleet = FleetSummary;
export type MonitorConfig = MonitorCard;
export type Agent = AgentCard;
/** An agent's activity, as the server reports it. */
export type AgentActivity = Activity;
export type Message = MessageView;
export type MonitorRuntime = RuntimeView;
export type SendResult = WebSent;
