//! The scripted model server the real coding-agent CLIs talk to: deterministic, bound to
//! 127.0.0.1, one per test. It speaks the three wire formats the CLIs use — Anthropic
//! Messages (Claude Code), OpenAI Responses (Codex) and OpenAI Chat Completions (opencode),
//! each streamed as SSE — and logs every request body so tests can assert on what the model
//! saw. docs/real-agents.md describes the script.
//!
//! Every request is first turned into one neutral [`Conversation`]; [`decide`] picks the
//! next [`Action`] from it alone (no hidden state, so a retried request gets the same
//! answer), and the wire module encodes that action in the request's format.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub body: Value,
    /// When the request arrived.
    pub at: std::time::Instant,
}

/// One item of a conversation, whatever the wire format.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// Text a user (or a keystroke into the TUI) submitted.
    User(String),
    /// Text the model answered.
    Assistant(String),
    /// A tool call the model made (name and JSON arguments).
    Call { name: String, args: Value },
    /// What a tool returned.
    Result(String),
}

/// A request reduced to what the script needs.
#[derive(Debug, Default, Clone)]
pub struct Conversation {
    /// The system prompt / instructions, joined.
    pub system: String,
    pub items: Vec<Item>,
    /// The names of the tools the request offers (empty for title requests and the like).
    pub tools: Vec<String>,
}

/// What the model does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Answer with text and end the turn.
    Text(String),
    /// Run a shell command with the CLI's own shell tool.
    Shell(String),
    /// Call a tool by name with these arguments (e.g. a question tool).
    Tool { name: String, args: Value },
}

/// The running server.
pub struct ModelServer {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Logged>>>,
    _runtime: tokio::runtime::Runtime,
}

#[derive(Clone)]
struct Shared {
    log: Arc<Mutex<Vec<Logged>>>,
}

impl ModelServer {
    /// Starts a server on 127.0.0.1 (a free port) on its own runtime.
    pub fn start() -> ModelServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("model server runtime");
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared { log: log.clone() };
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind the model server");
        let addr = listener.local_addr().unwrap();
        let app = Router::new().fallback(handle).with_state(shared);
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ModelServer {
            addr,
            log,
            _runtime: runtime,
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Logged> {
        self.log.lock().unwrap().clone()
    }

    /// The conversations of every request that offered tools (the agent's real turns).
    pub fn turns(&self) -> Vec<Conversation> {
        self.requests()
            .iter()
            .filter_map(|r| parse(&r.path, &r.body))
            .filter(|c| !c.tools.is_empty())
            .collect()
    }

    /// When the first request whose body contains `needle` arrived.
    pub fn first_seen(&self, needle: &str) -> Option<std::time::Instant> {
        self.requests()
            .iter()
            .find(|r| r.body.to_string().contains(needle))
            .map(|r| r.at)
    }

    /// Whether any request body so far contains `needle` (anywhere in its JSON text).
    pub fn saw(&self, needle: &str) -> bool {
        self.requests()
            .iter()
            .any(|r| r.body.to_string().contains(needle))
    }

    /// A readable dump of the log, for assertion messages: each request's path and the
    /// conversation items it carried (each cut to 300 characters).
    pub fn dump(&self) -> String {
        let cut = |s: &str| -> String {
            let s = s.replace('\n', "⏎");
            if s.chars().count() > 300 {
                format!("{}…", s.chars().take(300).collect::<String>())
            } else {
                s
            }
        };
        self.requests()
            .iter()
            .map(|r| match parse(&r.path, &r.body) {
                Some(c) => {
                    let items: Vec<String> = c
                        .items
                        .iter()
                        .map(|i| format!("    {}", cut(&format!("{i:?}"))))
                        .collect();
                    format!(
                        "{} {} ({} tools)\n{}",
                        r.method,
                        r.path,
                        c.tools.len(),
                        items.join("\n")
                    )
                }
                None => format!("{} {} {}", r.method, r.path, cut(&r.body.to_string())),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

async fn handle(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    s.log.lock().unwrap().push(Logged {
        method: method.to_string(),
        path: path.clone(),
        body: body.clone(),
        at: std::time::Instant::now(),
    });
    let Some(conv) = parse(&path, &body) else {
        if method == Method::GET && path.ends_with("/models") {
            return json_response(json!({"object": "list", "data": [
                {"id": "fake-model", "object": "model", "created": 0, "owned_by": "cafleet-tests"}
            ]}));
        }
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"error": {"type": "not_found", "message": format!("no route {path}")}})
                .to_string(),
        )
            .into_response();
    };
    let (action, delay) = decide(&conv);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let stream = body["stream"].as_bool().unwrap_or(false);
    let n = s.log.lock().unwrap().len();
    if path.ends_with("/messages") {
        anthropic(&action, stream, n)
    } else if path.ends_with("/responses") {
        responses(&action, n)
    } else {
        chat(&action, stream, n)
    }
}

fn json_response(v: Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

fn sse(events: Vec<(Option<&str>, Value)>, done: bool) -> Response {
    let mut out = String::new();
    for (event, data) in events {
        if let Some(e) = event {
            out.push_str(&format!("event: {e}\n"));
        }
        out.push_str(&format!("data: {data}\n\n"));
    }
    if done {
        out.push_str("data: [DONE]\n\n");
    }
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        out,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------
// Parsing the three request formats into a Conversation.
// ---------------------------------------------------------------------------------------

/// Reads a request of any of the three formats; None for paths that are not a model turn.
pub fn parse(path: &str, body: &Value) -> Option<Conversation> {
    let mut c = Conversation::default();
    let tool_names = |tools: &Value| -> Vec<String> {
        tools
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                t["name"]
                    .as_str()
                    .or_else(|| t["function"]["name"].as_str())
                    .map(str::to_string)
            })
            .collect()
    };
    if path.ends_with("/messages") {
        c.system = text_of(&body["system"]);
        c.tools = tool_names(&body["tools"]);
        for m in body["messages"].as_array().into_iter().flatten() {
            let role = m["role"].as_str().unwrap_or("");
            let blocks: Vec<Value> = match &m["content"] {
                Value::String(s) => vec![json!({"type": "text", "text": s})],
                Value::Array(a) => a.clone(),
                _ => vec![],
            };
            for b in blocks {
                match (role, b["type"].as_str().unwrap_or("")) {
                    ("user", "text") => push_user(&mut c, b["text"].as_str().unwrap_or("")),
                    ("user", "tool_result") => c.items.push(Item::Result(text_of(&b["content"]))),
                    ("assistant", "text") => c
                        .items
                        .push(Item::Assistant(b["text"].as_str().unwrap_or("").into())),
                    ("assistant", "tool_use") => c.items.push(Item::Call {
                        name: b["name"].as_str().unwrap_or("").into(),
                        args: b["input"].clone(),
                    }),
                    _ => {}
                }
            }
        }
        return Some(c);
    }
    if path.ends_with("/responses") {
        c.system = text_of(&body["instructions"]);
        c.tools = tool_names(&body["tools"]);
        for i in body["input"].as_array().into_iter().flatten() {
            match i["type"].as_str().unwrap_or("message") {
                "message" => {
                    let text = text_of(&i["content"]);
                    match i["role"].as_str().unwrap_or("") {
                        "user" => push_user(&mut c, &text),
                        "assistant" => c.items.push(Item::Assistant(text)),
                        _ => c.system.push_str(&text),
                    }
                }
                "function_call" | "custom_tool_call" | "local_shell_call" => {
                    let args = i["arguments"]
                        .as_str()
                        .and_then(|a| serde_json::from_str(a).ok())
                        .unwrap_or_else(|| i["input"].clone());
                    c.items.push(Item::Call {
                        name: i["name"].as_str().unwrap_or("").into(),
                        args,
                    });
                }
                "function_call_output" | "custom_tool_call_output" | "local_shell_call_output" => {
                    c.items.push(Item::Result(text_of(&i["output"])));
                }
                _ => {}
            }
        }
        return Some(c);
    }
    if path.ends_with("/chat/completions") {
        c.tools = tool_names(&body["tools"]);
        for m in body["messages"].as_array().into_iter().flatten() {
            let text = text_of(&m["content"]);
            match m["role"].as_str().unwrap_or("") {
                "system" | "developer" => c.system.push_str(&text),
                "user" => push_user(&mut c, &text),
                "assistant" => {
                    if !text.is_empty() {
                        c.items.push(Item::Assistant(text));
                    }
                    for t in m["tool_calls"].as_array().into_iter().flatten() {
                        let args = t["function"]["arguments"]
                            .as_str()
                            .and_then(|a| serde_json::from_str(a).ok())
                            .unwrap_or(Value::Null);
                        c.items.push(Item::Call {
                            name: t["function"]["name"].as_str().unwrap_or("").into(),
                            args,
                        });
                    }
                }
                "tool" => c.items.push(Item::Result(text)),
                _ => {}
            }
        }
        return Some(c);
    }
    None
}

/// User text that a CLI adds itself (reminders, environment and instruction blocks) is
/// context, not something typed: it goes to the system text.
fn push_user(c: &mut Conversation, text: &str) {
    let t = text.trim_start();
    if t.starts_with('<') || t.starts_with("# AGENTS.md") || t.is_empty() {
        c.system.push_str(text);
        c.system.push('\n');
    } else {
        c.items.push(Item::User(text.to_string()));
    }
}

/// The text of a string or of an array of text-bearing blocks.
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .map(|b| match b {
                Value::String(s) => s.clone(),
                _ => b["text"].as_str().map_or_else(
                    || {
                        if b["content"].is_null() {
                            String::new()
                        } else {
                            text_of(&b["content"])
                        }
                    },
                    str::to_string,
                ),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Object(_) => v["text"].as_str().unwrap_or("").to_string(),
        _ => String::new(),
    }
}

// ---------------------------------------------------------------------------------------
// The script.
// ---------------------------------------------------------------------------------------

/// The ids a member's spawn prompt names: (fleet, agent, director).
pub fn member_ids(c: &Conversation) -> Option<(i64, i64, i64)> {
    let all = c
        .items
        .iter()
        .filter_map(|i| match i {
            Item::User(t) => Some(t.as_str()),
            _ => None,
        })
        .chain(std::iter::once(c.system.as_str()))
        .collect::<Vec<_>>()
        .join("\n");
    let at = all.find("cafleet fleet ")?;
    let rest = &all[at + "cafleet fleet ".len()..];
    let num = |s: &str| -> Option<(i64, usize)> {
        let end = s.find(|ch: char| !ch.is_ascii_digit()).unwrap_or(s.len());
        Some((s[..end].parse().ok()?, end))
    };
    let (fleet, n) = num(rest)?;
    let rest = rest[n..].strip_prefix(" (agent=")?;
    let (agent, n) = num(rest)?;
    let rest = rest[n..].strip_prefix(", director=")?;
    let (director, _) = num(rest)?;
    Some((fleet, agent, director))
}

/// The previews (`[cafleet msg T from S ...]`) in a text: (task id, sender).
pub fn previews(text: &str) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("[cafleet msg ") {
        rest = &rest[at + "[cafleet msg ".len()..];
        let mut words = rest.split_whitespace();
        let task = words.next().and_then(|w| w.parse().ok());
        let from = (words.next() == Some("from"))
            .then(|| words.next().and_then(|w| w.parse().ok()))
            .flatten();
        if let (Some(t), Some(f)) = (task, from) {
            out.push((t, f));
        }
    }
    out
}

/// Picks the next action (and a delay before answering) from a conversation.
///
/// Requests without tools (titles, summaries) get a short title. Otherwise the newest user
/// text decides, and the calls made since it say how far the script has got:
/// - a CAFleet preview: `message poll`, then `message ack` for each previewed task, then a
///   reply `re <task>: <the text the poll showed>` to the sender, then "Replied.";
/// - a poll trigger (`cafleet message poll ...` typed in): run it, then "Polled.";
/// - `SCRIPT: sleep N`: a shell `sleep N` (a busy agent), then "Slept N.";
/// - `SCRIPT: run <command>`: run it, then "Ran.";
/// - `SCRIPT: slow N`: answer "Slow done." after holding the request N seconds;
/// - `SCRIPT: ask`: call the CLI's question tool (the tool name follows the CLI);
/// - anything else (the spawn prompt among them): "Ready.".
pub fn decide(c: &Conversation) -> (Action, Duration) {
    let none = Duration::ZERO;
    if c.tools.is_empty() {
        return (Action::Text("CAFleet member".into()), none);
    }
    let Some(last_user) = c.items.iter().rposition(|i| matches!(i, Item::User(_))) else {
        return (Action::Text("Ready.".into()), none);
    };
    let Item::User(text) = &c.items[last_user] else {
        unreachable!()
    };
    let after = &c.items[last_user + 1..];
    let calls = after
        .iter()
        .filter(|i| matches!(i, Item::Call { .. }))
        .count();
    let results: Vec<&str> = after
        .iter()
        .filter_map(|i| match i {
            Item::Result(r) => Some(r.as_str()),
            _ => None,
        })
        .collect();
    let ids = member_ids(c);
    let found = previews(text);
    if let (false, Some((fleet, agent, _))) = (found.is_empty(), ids) {
        let acks = found.len();
        return match calls {
            0 => (
                Action::Shell(format!(
                    "cafleet message poll --fleet-id {fleet} --agent-id {agent}"
                )),
                none,
            ),
            k if k <= acks => {
                let (task, _) = found[k - 1];
                (
                    Action::Shell(format!(
                        "cafleet message ack --fleet-id {fleet} --agent-id {agent} --task-id {task}"
                    )),
                    none,
                )
            }
            k if k == acks + 1 => {
                let (task, from) = found[0];
                let seen = results
                    .first()
                    .map(|r| polled_text(r, task))
                    .unwrap_or_default();
                (
                    Action::Shell(format!(
                        "cafleet message send --fleet-id {fleet} --agent-id {agent} --to {from} --text 're {task}: {seen}'"
                    )),
                    none,
                )
            }
            _ => (Action::Text("Replied.".into()), none),
        };
    }
    let trimmed = text.trim();
    if trimmed.starts_with("cafleet message poll") {
        return if calls == 0 {
            (Action::Shell(trimmed.to_string()), none)
        } else {
            (Action::Text("Polled.".into()), none)
        };
    }
    if let Some(rest) = trimmed.strip_prefix("SCRIPT: sleep ") {
        let secs: u64 = rest.trim().parse().unwrap_or(15);
        return if calls == 0 {
            (Action::Shell(format!("sleep {secs}")), none)
        } else {
            (Action::Text(format!("Slept {secs}.")), none)
        };
    }
    if let Some(cmd) = trimmed.strip_prefix("SCRIPT: run ") {
        return if calls == 0 {
            (Action::Shell(cmd.to_string()), none)
        } else {
            (Action::Text(format!("Ran. {}", results.join(" "))), none)
        };
    }
    if let Some(rest) = trimmed.strip_prefix("SCRIPT: slow ") {
        let secs: u64 = rest.trim().parse().unwrap_or(15);
        return (Action::Text("Slow done.".into()), Duration::from_secs(secs));
    }
    if trimmed == "SCRIPT: ask" {
        return if calls == 0 {
            (question_call(c), none)
        } else {
            (Action::Text(format!("Answer: {}", results.join(" "))), none)
        };
    }
    (Action::Text("Ready.".into()), none)
}

/// The message text a poll output shows for `task` (its line after the header), with the
/// quote characters a shell would choke on removed.
fn polled_text(poll: &str, task: i64) -> String {
    let mut lines = poll.lines();
    let header = format!("[{task} |");
    let mut text = String::new();
    while let Some(l) = lines.next() {
        if l.trim_start().starts_with(&header) {
            text = lines.next().unwrap_or("").trim().to_string();
            break;
        }
    }
    text.chars()
        .filter(|c| !matches!(c, '\'' | '"' | '\\' | '`' | '$'))
        .take(80)
        .collect()
}

/// A call of the question tool the request offers (Claude Code: AskUserQuestion; opencode:
/// question; otherwise a shell `false`, so the test sees there was none).
fn question_call(c: &Conversation) -> Action {
    if c.tools.iter().any(|t| t == "AskUserQuestion") {
        return Action::Tool {
            name: "AskUserQuestion".into(),
            args: json!({"questions": [{
                "question": "Which colour should the button be?",
                "header": "Colour",
                "multiSelect": false,
                "options": [
                    {"label": "Red", "description": "A red button"},
                    {"label": "Blue", "description": "A blue button"}
                ]
            }]}),
        };
    }
    if c.tools.iter().any(|t| t == "question") {
        return Action::Tool {
            name: "question".into(),
            args: json!({"questions": [{
                "question": "Which colour should the button be?",
                "header": "Colour",
                "options": [
                    {"label": "Red", "description": "A red button"},
                    {"label": "Blue", "description": "A blue button"}
                ]
            }]}),
        };
    }
    if c.tools.iter().any(|t| t == "request_user_input") {
        return Action::Tool {
            name: "request_user_input".into(),
            args: json!({"questions": [{
                "id": "colour",
                "header": "Colour",
                "question": "Which colour should the button be?",
                "options": [
                    {"label": "Red", "description": "A red button"},
                    {"label": "Blue", "description": "A blue button"}
                ]
            }]}),
        };
    }
    Action::Shell("false".into())
}

// ---------------------------------------------------------------------------------------
// Encoding an action in each wire format.
// ---------------------------------------------------------------------------------------

/// The shell tool's name and arguments per CLI.
fn shell_call(format: &str, cmd: &str) -> (String, Value) {
    match format {
        "anthropic" => (
            "Bash".into(),
            json!({"command": cmd, "description": "Run a CAFleet test command"}),
        ),
        "responses" => ("exec_command".into(), json!({"cmd": cmd})),
        _ => (
            "bash".into(),
            json!({"command": cmd, "description": "Run a CAFleet test command"}),
        ),
    }
}

fn tool_of(format: &str, action: &Action) -> Option<(String, Value)> {
    match action {
        Action::Text(_) => None,
        Action::Shell(cmd) => Some(shell_call(format, cmd)),
        Action::Tool { name, args } => Some((name.clone(), args.clone())),
    }
}

fn anthropic(action: &Action, stream: bool, n: usize) -> Response {
    let id = format!("msg_{n}");
    let usage = json!({"input_tokens": 10, "output_tokens": 5,
        "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0});
    let (block, stop) = match tool_of("anthropic", action) {
        Some((name, input)) => (
            json!({"type": "tool_use", "id": format!("toolu_{n}"), "name": name, "input": input}),
            "tool_use",
        ),
        None => {
            let Action::Text(t) = action else {
                unreachable!()
            };
            (json!({"type": "text", "text": t}), "end_turn")
        }
    };
    if !stream {
        return json_response(json!({
            "id": id, "type": "message", "role": "assistant", "model": "fake-model",
            "content": [block], "stop_reason": stop, "stop_sequence": null, "usage": usage
        }));
    }
    let (start, delta) = if block["type"] == "tool_use" {
        let mut start = block.clone();
        start["input"] = json!({});
        (
            start,
            json!({"type": "input_json_delta", "partial_json": block["input"].to_string()}),
        )
    } else {
        (
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": block["text"]}),
        )
    };
    sse(
        vec![
            (
                Some("message_start"),
                json!({"type": "message_start", "message": {
                    "id": id, "type": "message", "role": "assistant", "model": "fake-model",
                    "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage}}),
            ),
            (
                Some("content_block_start"),
                json!({"type": "content_block_start", "index": 0, "content_block": start}),
            ),
            (
                Some("content_block_delta"),
                json!({"type": "content_block_delta", "index": 0, "delta": delta}),
            ),
            (
                Some("content_block_stop"),
                json!({"type": "content_block_stop", "index": 0}),
            ),
            (
                Some("message_delta"),
                json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
                    "usage": {"output_tokens": 5}}),
            ),
            (Some("message_stop"), json!({"type": "message_stop"})),
        ],
        false,
    )
}

fn responses(action: &Action, n: usize) -> Response {
    let id = format!("resp_{n}");
    let item = match tool_of("responses", action) {
        Some((name, args)) => json!({
            "type": "function_call", "id": format!("fc_{n}"), "call_id": format!("call_{n}"),
            "name": name, "arguments": args.to_string(), "status": "completed"}),
        None => {
            let Action::Text(t) = action else {
                unreachable!()
            };
            json!({"type": "message", "id": format!("msg_{n}"), "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": t, "annotations": []}]})
        }
    };
    let usage = json!({"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 15});
    let mut events = vec![(
        Some("response.created"),
        json!({"type": "response.created", "response": {"id": id, "object": "response",
            "status": "in_progress", "output": []}}),
    )];
    if let Action::Text(t) = action {
        events.push((
            Some("response.output_text.delta"),
            json!({"type": "response.output_text.delta", "item_id": format!("msg_{n}"),
                "output_index": 0, "content_index": 0, "delta": t}),
        ));
    }
    events.push((
        Some("response.output_item.done"),
        json!({"type": "response.output_item.done", "output_index": 0, "item": item}),
    ));
    events.push((
        Some("response.completed"),
        json!({"type": "response.completed", "response": {"id": id, "object": "response",
            "status": "completed", "output": [item], "usage": usage}}),
    ));
    sse(events, false)
}

fn chat(action: &Action, stream: bool, n: usize) -> Response {
    let id = format!("chatcmpl-{n}");
    let usage = json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15});
    let (delta, message, finish) = match tool_of("chat", action) {
        Some((name, args)) => {
            let call = json!({"index": 0, "id": format!("call_{n}"), "type": "function",
                "function": {"name": name, "arguments": args.to_string()}});
            (
                json!({"role": "assistant", "content": null, "tool_calls": [call]}),
                json!({"role": "assistant", "content": null, "tool_calls": [call]}),
                "tool_calls",
            )
        }
        None => {
            let Action::Text(t) = action else {
                unreachable!()
            };
            (
                json!({"role": "assistant", "content": t}),
                json!({"role": "assistant", "content": t}),
                "stop",
            )
        }
    };
    if !stream {
        return json_response(json!({"id": id, "object": "chat.completion", "created": 0,
            "model": "fake-model", "choices": [{"index": 0, "message": message,
            "finish_reason": finish}], "usage": usage}));
    }
    let chunk = |delta: Value, finish: Value| {
        json!({"id": id, "object": "chat.completion.chunk", "created": 0, "model": "fake-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let mut last = chunk(json!({}), json!(finish));
    last["usage"] = usage;
    sse(vec![(None, chunk(delta, Value::Null)), (None, last)], true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_protocol_polls_acks_and_replies() {
        let prompt = "Member of cafleet fleet 1 (agent=3, director=1).\nCODING AGENT: claude";
        let preview = "[cafleet msg 7 from 1 2026-12-04T19:00:00+00:00]\nhello there";
        let mut c = Conversation {
            tools: vec!["Bash".into()],
            items: vec![
                Item::User(prompt.into()),
                Item::Assistant("Ready.".into()),
                Item::User(preview.into()),
            ],
            ..Default::default()
        };
        assert_eq!(member_ids(&c), Some((1, 3, 1)));
        assert_eq!(
            decide(&c).0,
            Action::Shell("cafleet message poll --fleet-id 1 --agent-id 3".into())
        );
        c.items.push(Item::Call {
            name: "Bash".into(),
            args: json!({}),
        });
        c.items.push(Item::Result(
            "[7 | from:1 | 2026-12-04T19:00:00+00:00]\nhello there\n".into(),
        ));
        assert_eq!(
            decide(&c).0,
            Action::Shell("cafleet message ack --fleet-id 1 --agent-id 3 --task-id 7".into())
        );
        c.items.push(Item::Call {
            name: "Bash".into(),
            args: json!({}),
        });
        c.items.push(Item::Result("acked".into()));
        assert_eq!(
            decide(&c).0,
            Action::Shell(
                "cafleet message send --fleet-id 1 --agent-id 3 --to 1 --text 're 7: hello there'"
                    .into()
            )
        );
    }
}
