//! Keystrokes and text for panes: the keys, sanitising what is typed, previews and
//! truncation, and small helpers about shells and `PATH`.

use super::*;

/// One step of a keystroke sequence.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    /// The Escape key (dismisses a pending prompt).
    Escape,
    /// Literal text, typed with `-l --`; callers sanitise it first.
    Text(&'a str),
    /// A tmux key name such as `1`.
    Name(&'a str),
    /// The Enter key.
    Enter,
}

/// A line whose last word starts with `$` or `@` gets a trailing space: typed as is, that
/// word opens the coding agent's mention popup (Codex's skill mentions, Claude Code's file
/// mentions), and the Enter that follows is taken by the popup instead of submitting the
/// line (docs/real-agents.md).
pub fn close_mention(line: &str) -> std::borrow::Cow<'_, str> {
    let last = line.rsplit(char::is_whitespace).next().unwrap_or("");
    if last.starts_with(['$', '@']) {
        std::borrow::Cow::Owned(format!("{line} "))
    } else {
        std::borrow::Cow::Borrowed(line)
    }
}

/// Timeout of `split-window`, which starts a program.
pub const SPAWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Drops trailing blank rows, keeps the last `n` lines, each terminated by `\n`.
pub fn tail_lines(text: &str, n: usize) -> String {
    let mut rows: Vec<&str> = text.split('\n').collect();
    while rows.last().is_some_and(|r| r.trim().is_empty()) {
        rows.pop();
    }
    let skip = rows.len().saturating_sub(n);
    let mut out = String::new();
    for row in &rows[skip..] {
        out.push_str(row);
        out.push('\n');
    }
    out
}

/// Whether a `pane_current_command` names a shell.
pub fn is_shell(command: &str) -> bool {
    let base = command.rsplit('/').next().unwrap_or(command);
    let base = base.trim_start_matches('-');
    SHELLS.contains(&base)
}

/// Finds an executable on `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Makes text inert for typing into a pane (docs/decisions.md, K1): CR, LF and CRLF become
/// `⏎`; every other control character (C0, ESC, DEL, C1) becomes a visible stand-in;
/// invisible format and bidi-control characters become `�`. Printable text, including
/// non-ASCII, is kept.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('⏎');
            }
            '\n' | '\u{2028}' | '\u{2029}' | '\u{85}' => out.push('⏎'),
            // C0 controls map onto the Unicode "control pictures" block (␀ … ␟, ␉ for TAB).
            c if (c as u32) < 0x20 => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('�')),
            '\u{7f}' => out.push('␡'),
            c if is_invisible(c) => out.push('�'),
            c => out.push(c),
        }
    }
    out
}

/// C1 controls, and the code points a terminal draws as nothing: Unicode's
/// Default_Ignorable_Code_Point set (zero-width and bidi controls, fillers, tags, variation
/// selectors) plus the other format characters (Cf). The emoji/text presentation
/// selectors U+FE0E and U+FE0F stay: they only pick a glyph for the character before them.
fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x80..=0x9f
        | 0xad
        | 0x034f
        | 0x0600..=0x0605
        | 0x061c
        | 0x06dd
        | 0x070f
        | 0x0890..=0x0891
        | 0x08e2
        | 0x115f..=0x1160
        | 0x17b4..=0x17b5
        | 0x180b..=0x180f
        | 0x200b..=0x200f
        | 0x202a..=0x202e
        | 0x2060..=0x206f
        | 0x3164
        | 0xfe00..=0xfe0d
        | 0xfeff
        | 0xffa0
        | 0xfff0..=0xfffb
        | 0x110bd
        | 0x110cd
        | 0x13430..=0x1343f
        | 0x1bca0..=0x1bca3
        | 0x1d173..=0x1d17a
        | 0xe0000..=0xe0fff
    )
}

/// Cuts text to `max` code points plus `…` when longer (0.14's rule; docs/decisions.md, C1).
pub fn truncate(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(text),
        Some((idx, _)) => std::borrow::Cow::Owned(format!("{}…", &text[..idx])),
    }
}

/// The inline preview typed for a delivery: a header line, one line break, then the
/// truncated and sanitised body (docs/decisions.md, L2).
pub fn preview_payload(
    task_id: crate::model::TaskId,
    from: crate::model::AgentId,
    ts: &str,
    text: &str,
    max: usize,
) -> String {
    format!(
        "[cafleet msg {task_id} from {from} {ts}]\n{}",
        sanitize(&truncate(text, max))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_makes_controls_visible() {
        let s = sanitize(
            "line1\nline2\r\nline3\rend\ttab \x03c \x15u \x1b[Aesc \x7fdel \u{9b}c1 \u{202e}rtl",
        );
        assert_eq!(s, "line1⏎line2⏎line3⏎end␉tab ␃c ␕u ␛[Aesc ␡del �c1 �rtl");
        assert!(!s.chars().any(char::is_control));
        // Fillers, tags and variation selectors hide text from a reader; emoji keep their
        // presentation selector.
        assert_eq!(
            sanitize("a\u{3164}b\u{e0041}c\u{e0101}d\u{fe01}e\u{34f}f\u{600}g ❤\u{fe0f}"),
            "a�b�c�d�e�f�g ❤\u{fe0f}"
        );
        assert_eq!(
            sanitize("-R $(rm -rf /) `x` é 日本"),
            "-R $(rm -rf /) `x` é 日本"
        );
    }

    #[test]
    fn a_trailing_mention_word_is_closed_with_a_space() {
        assert_eq!(close_mention("echo $TMUX_PANE"), "echo $TMUX_PANE ");
        assert_eq!(close_mention("costs $PRICE"), "costs $PRICE ");
        assert_eq!(close_mention("see @src/main.rs"), "see @src/main.rs ");
        assert_eq!(close_mention("$X"), "$X ");
        assert_eq!(close_mention("echo ${TMUX_PANE}."), "echo ${TMUX_PANE}. ");
        assert_eq!(close_mention("a $b c"), "a $b c");
        assert_eq!(close_mention("mail me@x"), "mail me@x");
        assert_eq!(close_mention(""), "");
    }

    #[test]
    fn truncate_counts_code_points() {
        assert_eq!(truncate("0123456789", 10), "0123456789");
        assert_eq!(truncate("0123456789A", 10), "0123456789…");
        assert_eq!(truncate("ÄÖÜ456789ABC", 10), "ÄÖÜ456789A…");
        assert_eq!(truncate("", 1), "");
    }

    #[test]
    fn preview_has_two_lines() {
        assert_eq!(
            preview_payload(
                crate::model::TaskId(1),
                crate::model::AgentId(1),
                "2026-11-24T12:25:24.458526+00:00",
                "a\nb",
                200
            ),
            "[cafleet msg 1 from 1 2026-11-24T12:25:24.458526+00:00]\na⏎b"
        );
    }

    #[test]
    fn capture_tail_drops_blank_rows() {
        assert_eq!(tail_lines("a\nb\nc\n\n\n\n", 2), "b\nc\n");
        assert_eq!(tail_lines("a\n\n", 5), "a\n");
        assert_eq!(tail_lines("\n\n", 3), "");
    }

    #[test]
    fn shells_are_recognised() {
        for s in ["bash", "-bash", "/bin/zsh", "fish", "sh"] {
            assert!(is_shell(s), "{s}");
        }
        for s in ["node", "claude", "codex", "python3", "opencode"] {
            assert!(!is_shell(s), "{s}");
        }
    }
}
