//! Shared vocabulary: ids, states, backends, timestamps and the rows the broker hands out.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// Declares an id: a distinct type over the stored integer, so a fleet id cannot be passed
/// where an agent id is wanted. It prints, parses, serialises (a JSON number) and is stored
/// (`db/types.rs`) as the bare integer.
macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize,
            serde::Deserialize,
        )]
        #[serde(transparent)]
        #[cfg_attr(test, derive(ts_rs::TS), ts(type = "number"))]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }

        impl From<i64> for $name {
            fn from(n: i64) -> Self {
                $name(n)
            }
        }

        impl PartialEq<i64> for $name {
            fn eq(&self, other: &i64) -> bool {
                self.0 == *other
            }
        }
    };
}

id! {
    /// A fleet's id (`fleets.fleet_id`).
    FleetId
}
id! {
    /// An agent's id (`agents.agent_id`), global across fleets.
    AgentId
}
id! {
    /// A task's (message's) id (`tasks.task_id`), global across fleets.
    TaskId
}

/// `tasks.type` of a delivery.
pub const TYPE_UNICAST: &str = "unicast";
/// `tasks.type` of a broadcast's summary row.
pub const TYPE_BROADCAST_SUMMARY: &str = "broadcast_summary";
/// A delivery waiting for its recipient's ack.
pub const STATE_INPUT_REQUIRED: &str = "input_required";
/// Acked (or a broadcast summary, complete from birth).
pub const STATE_COMPLETED: &str = "completed";
/// Withdrawn by its sender.
pub const STATE_CANCELED: &str = "canceled";
/// `agents.status` of a live agent.
pub const STATUS_ACTIVE: &str = "active";
/// `agents.status` of a retired agent.
pub const STATUS_DEREGISTERED: &str = "deregistered";
/// Card kind of the per-fleet Administrator.
pub const KIND_ADMINISTRATOR: &str = "builtin-administrator";
/// Card kind of the fleet's monitoring member.
pub const KIND_MONITORING_MEMBER: &str = "monitoring-member";

/// Declares a closed set of words stored as TEXT and sent as JSON strings: the enum, its
/// word for each variant (`as_str`, `Display`, serde) and `FromStr` (an unknown word is an
/// error naming it). `db/types.rs` gives each one its SQLite encoding.
macro_rules! words {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $word:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[cfg_attr(test, derive(ts_rs::TS))]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $word)] $variant,)+
        }

        impl $name {
            /// The stored and wire word.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok($name::$variant),)+
                    other => Err(format!(concat!("unknown ", stringify!($name), " '{}'"), other)),
                }
            }
        }
    };
}

words! {
    /// `agents.status`.
    AgentStatus {
        /// A live agent.
        Active = "active",
        /// A retired agent, kept for its messages.
        Deregistered = "deregistered",
    }
}

words! {
    /// A delivery's `tasks.status_state` (the API's message `status`).
    MessageStatus {
        /// Waiting for its recipient's ack.
        InputRequired = "input_required",
        /// Acked (or a broadcast summary, complete from birth).
        Completed = "completed",
        /// Withdrawn by its sender.
        Canceled = "canceled",
    }
}

words! {
    /// An agent's kind as the API shows it.
    AgentKind {
        /// The fleet's built-in Administrator.
        Administrator = "builtin-administrator",
        /// Any other agent.
        User = "user",
    }
}

words! {
    /// An agent's role in its fleet, as the WebUI shows it.
    AgentRole {
        /// The fleet's built-in Administrator.
        Administrator = "administrator",
        /// The fleet's monitoring member.
        Monitor = "monitor",
        /// The root Director.
        Director = "director",
        /// A member placed in a pane.
        Member = "member",
        /// An agent registered without a pane.
        Agent = "agent",
    }
}

/// The current time as stored: ISO-8601 UTC, six fraction digits, `+00:00`
/// (docs/decisions.md, C4 and L3).
pub fn now_ts() -> String {
    format_ts(chrono::Utc::now())
}

/// Formats a UTC instant as the database stores it.
pub fn format_ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// Parses a stored timestamp; accepts both the six-digit and the fraction-less shape
/// (docs/decisions.md, L3).
pub fn parse_ts(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The coding-agent program a pane runs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum CodingAgent {
    /// Anthropic's Claude Code (`claude`).
    Claude,
    /// OpenAI's Codex CLI (`codex`).
    Codex,
    /// opencode (`opencode`).
    Opencode,
}

impl CodingAgent {
    /// The name stored in `agent_placements.coding_agent` and the binary's name.
    pub fn as_str(self) -> &'static str {
        match self {
            CodingAgent::Claude => "claude",
            CodingAgent::Codex => "codex",
            CodingAgent::Opencode => "opencode",
        }
    }
}

impl fmt::Display for CodingAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CodingAgent {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "claude" => Ok(CodingAgent::Claude),
            "codex" => Ok(CodingAgent::Codex),
            "opencode" => Ok(CodingAgent::Opencode),
            other => Err(format!("unknown coding agent '{other}'")),
        }
    }
}

/// A row of `fleets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fleet {
    /// `fleet_id`.
    pub fleet_id: FleetId,
    /// Free-text label, NULL when not given.
    pub label: Option<String>,
    /// Creation timestamp.
    pub created_at: String,
    /// Soft-delete timestamp.
    pub deleted_at: Option<String>,
    /// The root Director.
    pub director_agent_id: Option<AgentId>,
}

/// A live fleet as listed by `fleet list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct FleetSummary {
    /// `fleet_id`.
    pub fleet_id: FleetId,
    /// The root Director.
    pub director_agent_id: Option<AgentId>,
    /// Free-text label.
    pub label: Option<String>,
    /// Creation timestamp.
    pub created_at: String,
    /// Number of active agents (Director and Administrator included).
    pub agent_count: i64,
}

/// A row of `agents`, plus the card's `cafleet.kind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// `agent_id`.
    pub agent_id: AgentId,
    /// Owning fleet.
    pub fleet_id: FleetId,
    /// Free-text name.
    pub name: String,
    /// Free-text description.
    pub description: String,
    /// `active` or `deregistered`.
    pub status: String,
    /// Registration timestamp.
    pub registered_at: String,
    /// Deregistration timestamp.
    pub deregistered_at: Option<String>,
    /// `json_extract(agent_card_json, '$.cafleet.kind')`.
    pub card_kind: Option<String>,
}

impl Agent {
    /// True for the per-fleet Administrator.
    pub fn is_administrator(&self) -> bool {
        self.card_kind.as_deref() == Some(KIND_ADMINISTRATOR)
    }

    /// True while not deregistered.
    pub fn is_active(&self) -> bool {
        self.status == STATUS_ACTIVE
    }

    /// The derived `kind` of agent JSON: `builtin-administrator` or `user`.
    pub fn kind(&self) -> &'static str {
        if self.is_administrator() {
            KIND_ADMINISTRATOR
        } else {
            "user"
        }
    }
}

/// A row of `agent_placements`: where a pane-bound agent lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placement {
    /// The placed agent (not serialised: the JSON shape nests it under the agent).
    #[serde(skip)]
    pub agent_id: AgentId,
    /// NULL for the root Director, else the fleet's root Director.
    pub director_agent_id: Option<AgentId>,
    /// tmux session name.
    pub tmux_session: String,
    /// tmux window id (`@N`).
    pub tmux_window_id: String,
    /// tmux pane id (`%N`); NULL while a member is pending.
    pub tmux_pane_id: Option<String>,
    /// `claude`, `codex` or `opencode`.
    pub coding_agent: String,
    /// Same as the agent's registered_at.
    pub created_at: String,
    /// The tmux server's socket path; NULL for rows adopted from CAFleet 0.14
    /// (docs/decisions.md, K3).
    #[serde(skip)]
    pub tmux_socket: Option<String>,
    /// The host the pane lives on (`CAFLEET_HOST` or the host name of the process that
    /// placed it); NULL for rows written before hosts were recorded, which count as local.
    pub host: Option<String>,
}

/// A row of `tasks` (a message).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Task {
    /// Global id.
    pub task_id: TaskId,
    /// Whose inbox: the recipient (or the broadcaster for a summary).
    pub context_id: AgentId,
    /// Sender.
    pub from_agent_id: AgentId,
    /// Recipient, 0 for a broadcast summary.
    pub to_agent_id: AgentId,
    /// `unicast` or `broadcast_summary`.
    pub r#type: String,
    /// Send time.
    pub created_at: String,
    /// `input_required`, `completed` or `canceled`.
    pub status_state: String,
    /// Time of the last transition.
    pub status_timestamp: String,
    /// The broadcast summary this delivery belongs to.
    pub origin_task_id: Option<TaskId>,
    /// The full body, never truncated.
    pub text: String,
}

/// Where to type into a pane: the pane, the server it lives on (docs/decisions.md, K3)
/// and that server's host (docs/postgres.md, "Hosts and the relay").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaneTarget {
    /// tmux socket path of the server.
    pub socket: String,
    /// Pane id (`%N`).
    pub pane_id: String,
    /// The host of the tmux server; `None` for placements that predate hosts (local).
    pub host: Option<String>,
}

impl PaneTarget {
    /// A placement's pane and server as stored (either may be NULL or empty: pending
    /// placements, placements adopted from 0.14): a target only when both are known.
    pub fn from_placement(
        socket: Option<String>,
        pane_id: Option<String>,
        host: Option<String>,
    ) -> Option<PaneTarget> {
        match (socket, pane_id) {
            (Some(socket), Some(pane_id)) if !socket.is_empty() && !pane_id.is_empty() => {
                Some(PaneTarget {
                    socket,
                    pane_id,
                    host,
                })
            }
            _ => None,
        }
    }

    /// A pane of a tmux server on this process's own host.
    pub fn local(socket: impl Into<String>, pane_id: impl Into<String>) -> PaneTarget {
        PaneTarget {
            socket: socket.into(),
            pane_id: pane_id.into(),
            host: None,
        }
    }
}

impl Placement {
    /// The pane to type into, when the placement has a pane and a known server.
    pub fn target(&self) -> Option<PaneTarget> {
        PaneTarget::from_placement(
            self.tmux_socket.clone(),
            self.tmux_pane_id.clone(),
            self.host.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_always_have_six_fraction_digits() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-24T12:25:24Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(format_ts(t), "2026-11-24T12:25:24.000000+00:00");
        assert!(parse_ts("2026-11-24T12:25:24+00:00").is_some());
        assert!(parse_ts("2026-11-24T12:25:24.458526+00:00").is_some());
    }
}
