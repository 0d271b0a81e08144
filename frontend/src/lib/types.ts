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
}

export type MessageStatus = 'input_required' | 'completed' | 'canceled';

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
}
