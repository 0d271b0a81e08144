// Shapes of the cafleet server's JSON API (webui.md §4 plus our additions).

export interface Fleet {
  fleet_id: number;
  director_agent_id: number | null;
  label: string | null;
  created_at: string;
  agent_count: number;
}

export interface MonitorConfig {
  interval_seconds: number;
  last_ping_at: string | null;
  enabled: boolean;
}

export type AgentRole = 'director' | 'administrator' | 'monitor' | 'member' | 'agent';

export interface Agent {
  agent_id: number;
  name: string;
  description: string;
  status: 'active' | 'deregistered' | string;
  registered_at: string;
  kind: 'builtin-administrator' | 'user' | string;
  monitor: MonitorConfig | null;
  /** Added by the Rust server; older servers may omit it. */
  role?: AgentRole | string;
  /** Coding agent of a placed agent (claude, codex, opencode), if known. */
  coding_agent?: string | null;
  /** What the agent is doing (newer servers; absent means unknown). */
  activity?: AgentActivity | string | null;
  /** When that activity was last observed. */
  activity_seen_at?: string | null;
  /** Where it was observed: a hook name, or `pane` (read off the screen). */
  activity_source?: string | null;
}

/** An agent's activity, as the server reports it. */
export type AgentActivity = 'working' | 'idle' | 'waiting' | 'exited' | 'unknown';

export type MessageStatus = 'input_required' | 'completed' | 'canceled';

/**
 * How far one delivery got (docs/delivery.md): stored → typed → submitted → seen → acked;
 * or dead (given up after every redelivery), or canceled by its sender.
 */
export type DeliveryState = 'stored' | 'typed' | 'submitted' | 'seen' | 'acked' | 'dead' | 'canceled';

/** How a message's preview reaches its recipient's pane (`"deliver"` of a send). */
export type DeliverMode = 'idle' | 'now' | 'queue';

export interface Message {
  task_id: number;
  from_agent_id: number;
  from_agent_name: string | null;
  to_agent_id: number;
  to_agent_name: string | null;
  type: string;
  status: MessageStatus | string;
  created_at: string;
  status_timestamp: string;
  origin_task_id: number | null;
  body: string;
  /** How far this delivery got; older servers omit it (unknown). */
  delivery?: DeliveryState | string;
}

export interface MonitorRuntime {
  running: boolean;
  pid: number | null;
  tick_seconds: number | null;
  last_tick_at: string | null;
  last_tick_age_seconds: number | null;
  started_at: string | null;
}

export interface SendResult {
  task_id: number;
  status: string;
  recipients?: number;
  /** The delivery mode the server applied (newer servers). */
  deliver?: DeliverMode | string;
}
