//! What a coding agent is doing: working, idle, waiting for input, exited or unknown.
//! Delivery types into an agent only when this allows it (docs/delivery.md). The pane
//! signature here is the fallback reading; structured signals from the CLIs' own hooks
//! are preferred where they are fresh.

use crate::backend::screen::{InputState, input_state};

/// An agent's activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Activity {
    /// A turn is running (the model is answering or a tool runs).
    Working,
    /// At its prompt with an empty input box: typed text starts a turn at once.
    Idle,
    /// A question or permission frame waits for an answer.
    Waiting,
    /// The coding agent is gone: its pane is closed or back at a shell.
    Exited,
    /// Nothing fresh is known.
    Unknown,
}

impl Activity {
    /// Every activity, in the order of the help texts.
    pub const ALL: [Activity; 5] = [
        Activity::Working,
        Activity::Idle,
        Activity::Waiting,
        Activity::Exited,
        Activity::Unknown,
    ];

    /// The lower-case name used in tables, JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Activity::Working => "working",
            Activity::Idle => "idle",
            Activity::Waiting => "waiting",
            Activity::Exited => "exited",
            Activity::Unknown => "unknown",
        }
    }

    /// Parses [`Activity::as_str`]'s names.
    pub fn parse(s: &str) -> Option<Activity> {
        Activity::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl std::fmt::Display for Activity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Footer text the real CLIs show only while a turn runs (docs/real-agents.md).
const BUSY_MARKS: &[&str] = &[
    // Claude Code and Codex ("• Working (2s • esc to interrupt)").
    "esc to interrupt",
    // opencode.
    "esc interrupt",
    "esc again to interrupt",
];

/// Claude Code's permission frame (outside `dontAsk`), which waits like a question.
const PERMISSION_MARKS: &[&str] = &["Do you want to proceed?", "Do you want to make this edit"];

/// Reads an agent's activity off its screen (the last lines of its pane): a question or
/// permission frame is waiting; a working footer is working; a readable input box with
/// neither is idle; anything else is unknown.
pub fn from_screen(screen: &str) -> Activity {
    let state = input_state(screen);
    if state == InputState::Question || PERMISSION_MARKS.iter().any(|m| screen.contains(m)) {
        return Activity::Waiting;
    }
    // Only the bottom of the screen counts: a working footer scrolled up into the
    // transcript says nothing about now.
    let tail = crate::tmux::tail_lines(screen, 8);
    if BUSY_MARKS.iter().any(|m| tail.contains(m)) {
        return Activity::Working;
    }
    match state {
        InputState::Empty | InputState::Draft(_) => Activity::Idle,
        InputState::Question => Activity::Waiting,
        InputState::Unknown => Activity::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "──────────────────────────────────────────────";

    #[test]
    fn names_round_trip() {
        for a in Activity::ALL {
            assert_eq!(Activity::parse(a.as_str()), Some(a));
        }
        assert_eq!(Activity::parse("busy"), None);
    }

    #[test]
    fn claude_screens() {
        let idle =
            format!("● Ready.\n{RULE} alice ─\n❯ \n{RULE}\n  ⏵⏵ don't ask on (shift+tab to cycle)");
        assert_eq!(from_screen(&idle), Activity::Idle);
        let busy = format!(
            "✽ Wandering… (3s · ↓ 5 tokens)\n{RULE}\n❯ \n{RULE}\n  ⏵⏵ don't ask on · esc to interrupt"
        );
        assert_eq!(from_screen(&busy), Activity::Working);
        let frame = " ☐ Colour\nWhich?\n❯ 1. Red\n  2. Blue\n  3. Type something.\n  4. Chat about this\nEnter to select · ↑/↓ to navigate";
        assert_eq!(from_screen(frame), Activity::Waiting);
    }

    #[test]
    fn codex_and_opencode_screens() {
        let busy = "• Working (3s • esc to interrupt)\n› Ask Codex to do anything\n  fake-model default · ~/work";
        assert_eq!(from_screen(busy), Activity::Working);
        let idle = "• Ready.\n› Ask Codex to do anything\n  fake-model default · ~/work\n  ? for shortcuts";
        assert_eq!(from_screen(idle), Activity::Idle);
        let edge = "  ╹▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀";
        let oc_busy = format!("  ┃\n  ┃  Cafleet · fake-model fake\n{edge}\n   esc interrupt");
        assert_eq!(from_screen(&oc_busy), Activity::Working);
        let oc_idle =
            format!("  ┃\n  ┃  Cafleet · fake-model fake\n{edge}\n   ~/work   ctrl+p commands");
        assert_eq!(from_screen(&oc_idle), Activity::Idle);
        assert_eq!(from_screen("$ ls\nfoo"), Activity::Unknown);
    }
}
