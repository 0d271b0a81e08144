//! Reading a coding agent's pane: whether its TUI is up (so `member create` can report a
//! member that never started), which start-up screens block it, and where a question
//! frame's free-text row is. The signatures come from the real CLIs (docs/real-agents.md).

use crate::model::CodingAgent;

/// What a member's pane shows while its coding agent starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupScreen {
    /// The TUI is up: its input box or its working footer is on screen.
    Ready,
    /// A screen the member cannot get past on its own; the text says what to do.
    Blocked(String),
    /// Nothing conclusive yet.
    Starting,
}

/// Text that shows the TUI is up. Any one line is enough: the idle input box of one
/// version, or the working footer (the spawn prompt starts a turn at once).
fn ready_marks(backend: CodingAgent) -> &'static [&'static str] {
    match backend {
        CodingAgent::Claude => &["? for shortcuts", "esc to interrupt", "shift+tab to cycle"],
        CodingAgent::Codex => &[
            "esc to interrupt",
            "Ask Codex to do anything",
            "context left",
        ],
        CodingAgent::Opencode => &[
            "esc interrupt",
            "esc again to interrupt",
            "ctrl+p commands",
            "tab agents",
        ],
    }
}

/// Screens that wait for a person, with what to do about them.
fn blocking_marks(backend: CodingAgent) -> &'static [(&'static str, &'static str)] {
    match backend {
        CodingAgent::Claude => &[
            (
                "Do you trust the files in this folder",
                "Claude Code asks whether to trust the working directory: start `claude` there once yourself, accept, and exit",
            ),
            (
                "Yes, I trust this folder",
                "Claude Code asks whether to trust the working directory: start `claude` there once yourself, accept, and exit",
            ),
            (
                "Select login method",
                "Claude Code is not logged in: run `claude` once yourself and log in (or set ANTHROPIC_API_KEY)",
            ),
            (
                "Unable to connect to Anthropic services",
                "Claude Code cannot reach its API: check the network, ANTHROPIC_BASE_URL and your credentials",
            ),
            (
                "Do you want to use this API key",
                "Claude Code asks whether to use ANTHROPIC_API_KEY: run `claude` once yourself and answer",
            ),
        ],
        CodingAgent::Codex => &[
            (
                "Sign in with ChatGPT",
                "Codex is not logged in: run `codex login` (or configure a model provider in ~/.codex/config.toml)",
            ),
            (
                "Trust this folder?",
                "Codex asks whether to trust the working directory (or its Git repository): start `codex` there once yourself and choose \"Trust and continue\"",
            ),
            (
                "Do you trust the contents of this directory",
                "Codex asks whether to trust the working directory: start `codex` there once yourself and accept",
            ),
        ],
        CodingAgent::Opencode => &[],
    }
}

/// Classifies a start-up screen.
pub fn startup_screen(backend: CodingAgent, screen: &str) -> StartupScreen {
    for (mark, hint) in blocking_marks(backend) {
        if screen.contains(mark) {
            return StartupScreen::Blocked((*hint).to_string());
        }
    }
    if ready_marks(backend).iter().any(|m| screen.contains(m)) {
        return StartupScreen::Ready;
    }
    StartupScreen::Starting
}

/// The digit of a question frame's free-text row ("Type something." in Claude Code), read
/// off the pane: the frame numbers its options, then the free-text row, then others, so
/// the digit depends on how many options the question has.
pub fn freetext_digit(screen: &str) -> Option<u8> {
    const LABELS: &[&str] = &["Type something", "Type your own answer", "Other"];
    screen.lines().rev().find_map(|line| {
        let row = line
            .trim_start()
            .trim_start_matches(['❯', '›', '>', '→', '▶', '*'])
            .trim_start();
        let (digit, label) = row.split_once(". ")?;
        let digit: u8 = digit.parse().ok()?;
        LABELS
            .iter()
            .any(|l| label.trim_start().starts_with(l))
            .then_some(digit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_question_frame_free_text_row() {
        let frame = " ☐ Colour\nWhich colour should the button be?\n❯ 1. Red\n     A red button\n  2. Blue\n     A blue button\n  3. Type something.\n────\n  4. Chat about this\nEnter to select";
        assert_eq!(freetext_digit(frame), Some(3));
        let four = "❯ 1. A\n  2. B\n  3. C\n  4. D\n  5. Type something.\n  6. Chat about this";
        assert_eq!(freetext_digit(four), Some(5));
        assert_eq!(freetext_digit("❯ hello\n  1. not a frame"), None);
    }

    #[test]
    fn startup_screens() {
        assert_eq!(
            startup_screen(
                CodingAgent::Claude,
                "❯ \n  ⏵⏵ don't ask on (shift+tab to cycle)"
            ),
            StartupScreen::Ready
        );
        assert!(matches!(
            startup_screen(
                CodingAgent::Claude,
                "Do you trust the files in this folder?\n❯ 1. Yes, I trust this folder"
            ),
            StartupScreen::Blocked(_)
        ));
        assert_eq!(
            startup_screen(CodingAgent::Codex, "loading"),
            StartupScreen::Starting
        );
    }
}
