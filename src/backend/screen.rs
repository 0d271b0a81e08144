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
            (
                "Hooks need review",
                "Codex asks you to review hooks that are new or changed (yours, a project's or a plugin's): start `codex` there once yourself and trust or skip them in /hooks",
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

/// What a coding agent's input box holds, read off its pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputState {
    /// The input box is empty: typed text becomes a new message (or is queued while the
    /// agent works).
    Empty,
    /// Someone has half-typed text there; typing would append to it and submit it.
    Draft(String),
    /// A question frame has the keyboard: a typed key would answer it.
    Question,
    /// No input box this reader knows was found (another program, or a new layout).
    Unknown,
}

/// Reads the input box of Claude Code, Codex or opencode off a screen (each has its own
/// layout; the first one found wins). docs/real-agents.md shows the screens.
pub fn input_state(screen: &str) -> InputState {
    const QUESTION_MARKS: &[&str] = &[
        "Enter to select",
        "enter submit",
        "esc dismiss",
        "Type something.",
        "Type your own answer",
    ];
    if QUESTION_MARKS.iter().any(|m| screen.contains(m)) && freetext_digit(screen).is_some() {
        return InputState::Question;
    }
    let lines: Vec<&str> = screen.lines().collect();
    claude_input(&lines)
        .or_else(|| opencode_input(&lines))
        .or_else(|| codex_input(&lines))
        .map_or(InputState::Unknown, |text| {
            if text.trim().is_empty() {
                InputState::Empty
            } else {
                InputState::Draft(text)
            }
        })
}

/// Which coding agent's input box is on the screen (the layouts [`input_state`] reads), if
/// any.
pub fn input_layout(screen: &str) -> Option<CodingAgent> {
    let lines: Vec<&str> = screen.lines().collect();
    if claude_input(&lines).is_some() {
        Some(CodingAgent::Claude)
    } else if opencode_input(&lines).is_some() {
        Some(CodingAgent::Opencode)
    } else if codex_input(&lines).is_some() {
        Some(CodingAgent::Codex)
    } else {
        None
    }
}

/// A line drawn as a horizontal rule (Claude Code's input box borders; the top one may
/// carry the session name).
fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.chars().filter(|c| *c == '─').count() >= 20
}

/// Claude Code: `❯ <text>` (continued on the following lines) between two rules.
fn claude_input(lines: &[&str]) -> Option<String> {
    let bottom = lines.iter().rposition(|l| is_rule(l))?;
    let top = lines[..bottom].iter().rposition(|l| is_rule(l))?;
    let body = &lines[top + 1..bottom];
    let first = body.first()?.trim_start().strip_prefix('❯')?;
    let mut text = vec![first.trim().to_string()];
    text.extend(body[1..].iter().map(|l| l.trim().to_string()));
    Some(text.join("\n").trim().to_string())
}

/// opencode: the `┃` block right above the `╹▀▀▀` bottom edge; its last line names the
/// agent and model, the lines above it hold the input.
fn opencode_input(lines: &[&str]) -> Option<String> {
    let edge = lines
        .iter()
        .rposition(|l| l.trim_start().starts_with('╹') && l.contains("▀▀▀"))?;
    let mut start = edge;
    while start > 0 && lines[start - 1].trim_start().starts_with('┃') {
        start -= 1;
    }
    if start == edge {
        return None;
    }
    let body = &lines[start..edge - 1];
    let text: Vec<String> = body
        .iter()
        .map(|l| l.trim_start().trim_start_matches('┃').trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    Some(text.join("\n"))
}

/// Codex: the last `› <text>` line; its placeholder and the `? for shortcuts` footer (which
/// Codex hides while the input holds text) mean empty.
fn codex_input(lines: &[&str]) -> Option<String> {
    let at = lines.iter().rposition(|l| l.starts_with("› "))?;
    let text = lines[at].trim_start_matches("› ").trim();
    let footer = lines[at..].iter().any(|l| l.contains("? for shortcuts"));
    if footer || text == "Ask Codex to do anything" {
        return Some(String::new());
    }
    Some(text.to_string())
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

    const RULE: &str = "──────────────────────────────────────────────";

    #[test]
    fn claude_input_box() {
        let idle =
            format!("● Ready.\n{RULE} alice ─\n❯ \n{RULE}\n  ⏵⏵ don't ask on (shift+tab to cycle)");
        assert_eq!(input_state(&idle), InputState::Empty);
        let draft =
            format!("● Ready.\n{RULE} alice ─\n❯ half typed draft\n{RULE}\n  ⏵⏵ don't ask on");
        assert_eq!(
            input_state(&draft),
            InputState::Draft("half typed draft".into())
        );
        let two = format!("{RULE}\n❯ line one\n  line two\n{RULE}\n");
        assert_eq!(
            input_state(&two),
            InputState::Draft("line one\nline two".into())
        );
        let frame = " ☐ Colour\nWhich?\n❯ 1. Red\n  2. Blue\n  3. Type something.\n  4. Chat about this\nEnter to select · ↑/↓ to navigate";
        assert_eq!(input_state(frame), InputState::Question);
    }

    #[test]
    fn codex_input_line() {
        let idle = "• Ready.\n› Ask Codex to do anything\n  fake-model default · ~/work\n  ← for agents · ? for shortcuts";
        assert_eq!(input_state(idle), InputState::Empty);
        let draft = "› SCRIPT: sleep 8\n• Working (3s • esc to interrupt)\n› draft while busy\n  fake-model default · ~/work\n  tab to queue message";
        assert_eq!(
            input_state(draft),
            InputState::Draft("draft while busy".into())
        );
    }

    #[test]
    fn opencode_input_box() {
        let edge = "  ╹▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀";
        let idle = format!(
            "     ▣  Cafleet · fake-model · 4.2s\n  ┃\n  ┃\n  ┃\n  ┃  Cafleet · fake-model fake    ~/work:main\n{edge}\n   ~/work   ctrl+p commands"
        );
        assert_eq!(input_state(&idle), InputState::Empty);
        let draft = format!(
            "  ┃  ⠹ sleep 8\n  ┃\n     ▣  Cafleet · fake-model\n  ┃\n  ┃  draft while busy\n  ┃\n  ┃  Cafleet · fake-model fake\n{edge}\n   esc interrupt"
        );
        assert_eq!(
            input_state(&draft),
            InputState::Draft("draft while busy".into())
        );
        assert_eq!(
            input_state("stand-in ready\n  ? for shortcuts"),
            InputState::Unknown
        );
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
