// Generated from the Rust types the API serialises (src/web/wire.rs); do not edit.
// Regenerate with: CAFLEET_WRITE_WIRE=1 cargo test --lib wire

export type FleetId = number;

export type AgentId = number;

export type TaskId = number;

export type FleetSummary = {
/**
 * `fleet_id`.
 */
fleet_id: FleetId,
/**
 * The root Director.
 */
director_agent_id: AgentId | null,
/**
 * Free-text label.
 */
label: string | null,
/**
 * Creation timestamp.
 */
created_at: string,
/**
 * Number of active agents (Director and Administrator included).
 */
agent_count: number, };

export type AgentStatus = "active" | "deregistered";

export type AgentKind = "builtin-administrator" | "user";

export type AgentRole = "administrator" | "monitor" | "director" | "member" | "agent";

export type Activity = "working" | "idle" | "waiting" | "exited" | "unknown";

export type ActivityView = {
/**
 * `working`, `idle`, `waiting`, `exited` or `unknown`.
 */
activity: Activity,
/**
 * When it was reported or read.
 */
activity_seen_at: string | null,
/**
 * Where it came from.
 */
activity_source: string | null, };

export type Undelivered = {
/**
 * Pending messages the agent has not been shown yet.
 */
unseen: number,
/**
 * How many of them are dead letters.
 */
dead: number, };

export type MonitorCard = {
/**
 * Seconds between wakes.
 */
interval_seconds: number,
/**
 * The last wake.
 */
last_ping_at: string | null,
/**
 * Whether wakes are on.
 */
enabled: boolean, };

export type AgentCard = {
/**
 * Agent id.
 */
agent_id: AgentId,
/**
 * Name.
 */
name: string,
/**
 * Description.
 */
description: string,
/**
 * `active` or `deregistered`.
 */
status: AgentStatus,
/**
 * Registration time.
 */
registered_at: string,
/**
 * The Administrator, or any other agent.
 */
kind: AgentKind,
/**
 * The schedule of an active, enrolled agent.
 */
monitor: MonitorCard | null,
/**
 * Its role in the fleet.
 */
role: AgentRole,
/**
 * The backend of a placed agent.
 */
coding_agent: string | null,
/**
 * Messages it has not been shown yet.
 */
undelivered: Undelivered,
/**
 * `working`, `idle`, `waiting`, `exited` or `unknown`.
 */
activity: Activity,
/**
 * When it was reported or read.
 */
activity_seen_at: string | null,
/**
 * Where it came from.
 */
activity_source: string | null, };

export type MessageStatus = "input_required" | "completed" | "canceled";

export type DeliveryState = "stored" | "typed" | "submitted" | "seen" | "acked" | "dead" | "canceled";

export type DeliverMode = "idle" | "now" | "queue";

export type MessageView = {
/**
 * Task id.
 */
task_id: TaskId,
/**
 * Sender.
 */
from_agent_id: AgentId,
/**
 * Sender's name.
 */
from_agent_name: string | null,
/**
 * Recipient.
 */
to_agent_id: AgentId,
/**
 * Recipient's name.
 */
to_agent_name: string | null,
/**
 * `unicast`.
 */
type: string,
/**
 * `input_required`, `completed` or `canceled`.
 */
status: MessageStatus,
/**
 * Send time.
 */
created_at: string,
/**
 * Last state change.
 */
status_timestamp: string,
/**
 * The broadcast this delivery belongs to.
 */
origin_task_id: TaskId | null,
/**
 * Full text.
 */
body: string,
/**
 * How far its delivery got (`stored` … `acked`, `dead`, `canceled`).
 */
delivery: DeliveryState, };

export type RuntimeView = {
/**
 * Whether a live process holds the slot.
 */
running: boolean,
/**
 * Its pid (only when running).
 */
pid: number | null,
/**
 * Tick length (kept after a clean stop).
 */
tick_seconds: number | null,
/**
 * Heartbeat (only when running).
 */
last_tick_at: string | null,
/**
 * Whole seconds since the heartbeat.
 */
last_tick_age_seconds: number | null,
/**
 * Start time (only when running).
 */
started_at: string | null, };

export type WebSent = {
/**
 * The delivery, or the broadcast's summary.
 */
task_id: TaskId,
/**
 * Its state.
 */
status: string,
/**
 * How many deliveries a broadcast made.
 */
recipients?: number,
/**
 * The delivery mode.
 */
deliver: DeliverMode,
/**
 * Present (true) when the key named an earlier message: nothing stored or typed.
 */
repeated?: boolean, };

/** Messages per timeline, inbox or sent page. */
export const PAGE = 200;

/** The largest page a client may ask for. */
export const MAX_PAGE = 1000;

/** The longest monitor interval, in seconds (30 days). */
export const MAX_INTERVAL_SECS = 2592000;
