//! Everything the CLI prints: text vs `--json`, 0.14's task and agent renderings
//! (docs/decisions.md, C1), and the stdout writer (ANSI filter into pipes, visible control
//! characters on a terminal, broken pipe = quiet exit 0).

use crate::delivery::DeliveryRecord;
use crate::model::{Agent, Placement, TYPE_UNICAST, Task};
use crate::tmux::truncate;
use serde_json::{Map, Value, json};
use std::io::{IsTerminal, Write};

/// Agent descriptions are cut to this many code points in slim JSON and `--full` text.
pub const DESCRIPTION_LIMIT: usize = 60;

/// Writes lines to stdout. Into a pipe, CSI sequences are removed (as 0.14); onto a
/// terminal, control characters are shown as visible stand-ins so stored message text can
/// never drive the user's terminal.
pub fn print(text: &str) {
    let mut s = if std::io::stdout().is_terminal() {
        visible_controls(text)
    } else {
        strip_csi(text)
    };
    s.push('\n');
    write_stdout(s.as_bytes());
}

/// Writes text exactly as given (no newline added, no filtering).
pub fn print_raw(text: &str) {
    write_stdout(text.as_bytes());
}

/// Prints one compact JSON line.
pub fn print_json(v: &Value) {
    let mut s = serde_json::to_string(v).unwrap_or_else(|_| "null".into());
    s.push('\n');
    write_stdout(s.as_bytes());
}

fn write_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            // The reader went away (e.g. `| head`): that is success, not an error.
            std::process::exit(0);
        }
        eprintln!("Error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// Removes `ESC [ [;?0-9]* [A-Za-z]` sequences, as 0.14 does into a pipe (docs/decisions.md, C1).
pub fn strip_csi(text: &str) -> String {
    let bytes: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == '\x1b' && bytes.get(i + 1) == Some(&'[') {
            let mut j = i + 2;
            while j < bytes.len()
                && (bytes[j].is_ascii_digit() || bytes[j] == ';' || bytes[j] == '?')
            {
                j += 1;
            }
            if j < bytes.len() && bytes[j].is_ascii_alphabetic() {
                i = j + 1;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// On a terminal, shows control characters as visible stand-ins; into a pipe, unchanged.
pub fn visible_controls_if_tty(text: &str) -> String {
    if std::io::stdout().is_terminal() {
        visible_controls(text)
    } else {
        text.to_string()
    }
}

/// Replaces control characters other than newline and tab with visible stand-ins.
pub fn visible_controls(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\t' => c,
            c if (c as u32) < 0x20 => char::from_u32(0x2400 + c as u32).unwrap_or('�'),
            '\u{7f}' => '␡',
            c if (0x80..=0x9f).contains(&(c as u32)) => '�',
            c => c,
        })
        .collect()
}

/// Slim task JSON: `id, from, ts, text` (truncated), then `kind` and `origin` when set.
pub fn task_slim_json(t: &Task, max: usize) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(t.task_id));
    m.insert("from".into(), json!(t.from_agent_id));
    m.insert("ts".into(), json!(t.status_timestamp));
    m.insert("text".into(), json!(truncate(&t.text, max)));
    if t.r#type != TYPE_UNICAST {
        m.insert("kind".into(), json!(t.r#type));
    }
    if let Some(origin) = t.origin_task_id.filter(|o| *o != 0) {
        m.insert("origin".into(), json!(origin));
    }
    Value::Object(m)
}

/// Full task JSON; a freshly created task lists `task_id` last (as 0.14; docs/decisions.md, C1).
pub fn task_full_json(t: &Task, fresh: bool) -> Value {
    let mut m = Map::new();
    if !fresh {
        m.insert("task_id".into(), json!(t.task_id));
    }
    m.insert("context_id".into(), json!(t.context_id));
    m.insert("from_agent_id".into(), json!(t.from_agent_id));
    m.insert("to_agent_id".into(), json!(t.to_agent_id));
    m.insert("type".into(), json!(t.r#type));
    m.insert("created_at".into(), json!(t.created_at));
    m.insert("status_state".into(), json!(t.status_state));
    m.insert("status_timestamp".into(), json!(t.status_timestamp));
    m.insert("origin_task_id".into(), json!(t.origin_task_id));
    m.insert("text".into(), json!(t.text));
    if fresh {
        m.insert("task_id".into(), json!(t.task_id));
    }
    Value::Object(m)
}

/// A task as JSON, slim or full.
pub fn task_json(t: &Task, full: bool, fresh: bool, max: usize) -> Value {
    if full {
        task_full_json(t, fresh)
    } else {
        task_slim_json(t, max)
    }
}

/// Compact task text: `[id | from:F | ts | kind:K | origin:O]` then the truncated text.
pub fn task_compact_text(t: &Task, max: usize) -> String {
    let mut head = format!(
        "[{} | from:{} | {}",
        t.task_id, t.from_agent_id, t.status_timestamp
    );
    if t.r#type != TYPE_UNICAST {
        head.push_str(&format!(" | kind:{}", t.r#type));
    }
    if let Some(origin) = t.origin_task_id.filter(|o| *o != 0) {
        head.push_str(&format!(" | origin:{origin}"));
    }
    head.push(']');
    if !t.text.is_empty() {
        head.push('\n');
        head.push_str(&truncate(&t.text, max));
    }
    head
}

/// Full task text block (two-space indent, labels padded to 7).
pub fn task_full_text(t: &Task) -> String {
    let mut lines = vec![
        format!("  id:    {}", t.task_id),
        format!("  state: {}", t.status_state),
        format!("  from:  {}", t.from_agent_id),
    ];
    if t.to_agent_id != 0 {
        lines.push(format!("  to:    {}", t.to_agent_id));
    }
    lines.push(format!("  type:  {}", t.r#type));
    if !t.text.is_empty() {
        lines.push(format!("  text:  {}", t.text));
    }
    lines.join("\n")
}

/// One line on how far a delivery got: `submitted (idle)`, `stored (queue)`, or with the
/// reason nothing was typed: `stored (idle; held: its input box holds a half-typed draft)`.
pub fn delivery_line(d: &DeliveryRecord) -> String {
    match &d.note {
        Some(note) => format!("{} ({}; {note})", d.state, d.mode),
        None => format!("{} ({})", d.state, d.mode),
    }
}

/// A delivery's record as `message show` prints it under the task.
pub fn delivery_block(d: &DeliveryRecord) -> String {
    let mut lines = vec![format!("delivery: {}", delivery_line(d))];
    lines.push(format!("  attempts: {}", d.attempts));
    for (label, at) in [
        ("typed", &d.typed_at),
        ("submitted", &d.submitted_at),
        ("seen", &d.seen_at),
        ("acked", &d.acked_at),
        ("dead", &d.dead_at),
    ] {
        if let Some(at) = at {
            lines.push(format!("  {label}: {at}"));
        }
    }
    lines.join("\n")
}

/// A task as text, compact or full.
pub fn task_text(t: &Task, full: bool, max: usize) -> String {
    if full {
        task_full_text(t)
    } else {
        task_compact_text(t, max)
    }
}

/// Placement JSON (`director_agent_id … created_at`).
pub fn placement_json(p: &Placement) -> Value {
    serde_json::to_value(p).unwrap_or(Value::Null)
}

/// Slim agent JSON: `id, name, description (60 + …), status`, plus `coding_agent`.
pub fn agent_slim_json(a: &Agent, placement: Option<&Placement>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(a.agent_id));
    m.insert("name".into(), json!(a.name));
    m.insert(
        "description".into(),
        json!(truncate(&a.description, DESCRIPTION_LIMIT)),
    );
    m.insert("status".into(), json!(a.status));
    if let Some(p) = placement {
        m.insert("coding_agent".into(), json!(p.coding_agent));
    }
    Value::Object(m)
}

/// Full agent JSON for `agent list --full`.
pub fn agent_full_list_json(a: &Agent) -> Value {
    json!({
        "agent_id": a.agent_id,
        "name": a.name,
        "description": a.description,
        "status": a.status,
        "registered_at": a.registered_at,
    })
}

/// Full agent text block.
pub fn agent_full_text(a: &Agent) -> String {
    format!(
        "  agent_id:    {}\n  name:        {}\n  description: {}\n  status:      {}",
        a.agent_id,
        a.name,
        truncate(&a.description, DESCRIPTION_LIMIT),
        a.status
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csi_sequences_are_stripped() {
        assert_eq!(
            strip_csi("a \x1b[Aesc \x1b[1;31mred\x1b[0m \x7fdel"),
            "a esc red \x7fdel"
        );
        assert_eq!(strip_csi("\x1b[ not csi"), "\x1b[ not csi");
    }

    #[test]
    fn controls_become_visible() {
        assert_eq!(visible_controls("a\x1b[A\x03\tb\n"), "a␛[A␃\tb\n");
    }
}

/// One column of a [`table`]: its title, its width, and (when the table has a rule line
/// under the titles) the rule's length for the last column, which is not padded.
pub struct Column {
    pub title: &'static str,
    pub width: usize,
    pub rule: usize,
}

/// Column `title` at `width` characters; the rule under the last column is `width` long.
pub const fn col(title: &'static str, width: usize) -> Column {
    Column {
        title,
        width,
        rule: width,
    }
}

/// Lays out a fixed-width table with 0.14's widths, widening a column only when a cell is
/// longer, so a long name or `opencode` never shifts the columns after it; tables whose
/// cells fit are byte-identical to 0.14's (docs/decisions.md, CLI-2). Every line starts
/// with `indent`; columns are joined by `sep`; `ruled` adds a dash line under the titles.
pub fn table(
    indent: &str,
    sep: &str,
    columns: &[Column],
    ruled: bool,
    rows: &[Vec<String>],
) -> Vec<String> {
    let last = columns.len().saturating_sub(1);
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let longest = rows
                .iter()
                .filter_map(|r| r.get(i))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0);
            if i == last {
                c.width
            } else {
                c.width.max(longest).max(c.title.chars().count())
            }
        })
        .collect();
    let line = |cells: &mut dyn Iterator<Item = String>| -> String {
        let mut out = String::from(indent);
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            if i == last {
                out.push_str(&cell);
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count());
                out.push_str(&cell);
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out
    };
    let mut lines = vec![line(&mut columns.iter().map(|c| c.title.to_string()))];
    if ruled {
        lines.push(line(&mut columns.iter().enumerate().map(|(i, c)| {
            "-".repeat(if i == last { c.rule } else { widths[i] })
        })));
    }
    for row in rows {
        lines.push(line(&mut row.iter().cloned()));
    }
    lines
}

#[cfg(test)]
mod table_tests {
    use super::*;

    const COLS: [Column; 3] = [
        col("id", 4),
        col("name", 6),
        Column {
            title: "when",
            width: 4,
            rule: 8,
        },
    ];

    #[test]
    fn cells_that_fit_keep_the_fixed_widths() {
        let rows = vec![vec!["1".to_string(), "ann".into(), "today".into()]];
        assert_eq!(
            table("  ", "  ", &COLS, true, &rows),
            vec![
                "  id    name    when",
                "  ----  ------  --------",
                "  1     ann     today",
            ]
        );
    }

    #[test]
    fn a_long_cell_widens_its_column_instead_of_shifting_the_rest() {
        let rows = vec![
            vec!["1".to_string(), "opencode-reviewer".into(), "today".into()],
            vec!["22".to_string(), "bo".into(), "never".into()],
        ];
        assert_eq!(
            table("", " ", &COLS, false, &rows),
            vec![
                "id   name              when",
                "1    opencode-reviewer today",
                "22   bo                never",
            ]
        );
    }
}
