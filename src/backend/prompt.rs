//! The spawn prompt: the default template, and placeholder substitution with 0.14's rules
//! (`{name}` for four names, `{{`/`}}` for literal braces; docs/decisions.md, C1).

use crate::{Error, Result};

/// The default spawn prompt template. The `CODING AGENT:` line is what the skills read to
/// pick the backend's overlay (docs/decisions.md, MEM-5).
pub const DEFAULT_PROMPT: &str = "Member of cafleet fleet {fleet_id} (agent={agent_id}, director={director_agent_id}).\nCODING AGENT: {coding_agent}\nLoad skill 'cafleet'. Your cafleet commands run without a permission prompt when each runs on its own (no pipes, redirects, &&, ; or $(...)). Poll: cafleet message poll --fleet-id {fleet_id} --agent-id {agent_id}";

/// The default spawn prompt of a monitoring member (`member create --role monitor` without a
/// prompt): its role file and the start-up steps of the skill's monitoring-member prompt,
/// instead of the generic member prompt (docs/decisions.md, MEM-5).
pub const DEFAULT_MONITOR_PROMPT: &str = "Monitoring member of cafleet fleet {fleet_id} (agent={agent_id}, director={director_agent_id}).\nCODING AGENT: {coding_agent}\nLoad skill 'cafleet' and read its roles/monitor.md before anything else. Your cafleet commands run without a permission prompt when each runs on its own (no pipes, redirects, &&, ; or $(...)).\nStart-up, in order. Tell the Director you booted:\ncafleet message send --fleet-id {fleet_id} --agent-id {agent_id} --to {director_agent_id} --text \"ready: monitoring member\"\nStart the heartbeat as a background task (your coding-agent overlay says how):\ncafleet monitor start --fleet-id {fleet_id}\nCheck until the first line reads \"monitor: running\":\ncafleet monitor status --fleet-id {fleet_id}\nThen open the gate for the other members:\ncafleet message send --fleet-id {fleet_id} --agent-id {agent_id} --to {director_agent_id} --text \"ready: monitor live\"\nThen end your turn and follow the wake routine of roles/monitor.md.";

/// The values placeholders expand to.
#[derive(Debug, Clone)]
pub struct PromptValues<'a> {
    /// `{fleet_id}`
    pub fleet_id: crate::model::FleetId,
    /// `{agent_id}` (the new member)
    pub agent_id: crate::model::AgentId,
    /// `{director_agent_id}`
    pub director_agent_id: crate::model::AgentId,
    /// `{coding_agent}`
    pub coding_agent: &'a str,
}

const SUFFIX: &str = "Double literal braces ({{, }}) to keep them as text.";

/// Checks a template without knowing the new agent's id (so nothing is registered when it
/// is malformed).
pub fn validate_template(template: &str) -> Result<()> {
    render_prompt(
        template,
        &PromptValues {
            fleet_id: crate::model::FleetId(0),
            agent_id: crate::model::AgentId(0),
            director_agent_id: crate::model::AgentId(0),
            coding_agent: "claude",
        },
    )
    .map(|_| ())
}

/// Expands the placeholders of a template.
pub fn render_prompt(template: &str, v: &PromptValues<'_>) -> Result<String> {
    let malformed =
        |detail: &str| Error::usage(format!("Malformed custom prompt: {detail}. {SUFFIX}"));
    let mut out = String::with_capacity(template.len() + 32);
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '}' => return Err(malformed("Single '}' encountered in format string")),
            '{' => {
                let mut field = String::new();
                let mut closed = false;
                for f in chars.by_ref() {
                    if f == '}' {
                        closed = true;
                        break;
                    }
                    if f == '{' {
                        return Err(malformed("unexpected '{' in field name"));
                    }
                    field.push(f);
                }
                if !closed {
                    return Err(malformed(if field.is_empty() {
                        "Single '{' encountered in format string"
                    } else {
                        "expected '}' before end of string"
                    }));
                }
                out.push_str(&expand(&field, v)?);
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

fn expand(field: &str, v: &PromptValues<'_>) -> Result<String> {
    let malformed =
        |detail: String| Error::usage(format!("Malformed custom prompt: {detail}. {SUFFIX}"));
    let end = field.find(['.', '[', '!', ':']).unwrap_or(field.len());
    let (name, rest) = field.split_at(end);
    if name.is_empty() || name.chars().all(|c| c.is_ascii_digit()) {
        let index = if name.is_empty() { "0" } else { name };
        return Err(malformed(format!(
            "Replacement index {index} out of range for positional args tuple"
        )));
    }
    let (value, type_name) = match name {
        "fleet_id" => (v.fleet_id.to_string(), "int"),
        "agent_id" => (v.agent_id.to_string(), "int"),
        "director_agent_id" => (v.director_agent_id.to_string(), "int"),
        "coding_agent" => (v.coding_agent.to_string(), "str"),
        other => {
            return Err(Error::usage(format!(
                "Unknown placeholder '{other}' in custom prompt. Supported placeholders: {{fleet_id}}, {{agent_id}}, {{director_agent_id}}, {{coding_agent}}. {SUFFIX}"
            )));
        }
    };
    if let Some(attr) = rest.strip_prefix('.') {
        return Err(malformed(format!(
            "'{type_name}' object has no attribute '{attr}'"
        )));
    }
    if rest.starts_with('[') {
        return Err(malformed(format!(
            "'{type_name}' object is not subscriptable"
        )));
    }
    if !rest.is_empty() {
        return Err(malformed(format!(
            "conversions and format specs such as '{{{field}}}' are not supported"
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> PromptValues<'static> {
        PromptValues {
            fleet_id: crate::model::FleetId(1),
            agent_id: crate::model::AgentId(5),
            director_agent_id: crate::model::AgentId(1),
            coding_agent: "codex",
        }
    }

    fn err(t: &str) -> String {
        render_prompt(t, &values()).unwrap_err().to_string()
    }

    #[test]
    fn placeholders_expand() {
        assert_eq!(
            render_prompt("Custom prompt for {agent_id} in {fleet_id} by {director_agent_id} using {coding_agent}", &values()).unwrap(),
            "Custom prompt for 5 in 1 by 1 using codex"
        );
        assert_eq!(
            render_prompt("a {{literal}} b", &values()).unwrap(),
            "a {literal} b"
        );
        assert_eq!(
            render_prompt(DEFAULT_PROMPT, &values()).unwrap(),
            format!(
                "Member of cafleet fleet 1 (agent=5, director=1).\nCODING AGENT: {}\nLoad skill 'cafleet'. Your cafleet commands run without a permission prompt when each runs on its own (no pipes, redirects, &&, ; or $(...)). Poll: cafleet message poll --fleet-id 1 --agent-id 5",
                values().coding_agent
            )
        );
    }

    #[test]
    fn malformed_templates_name_the_problem() {
        assert!(err("{nope}").starts_with("Unknown placeholder 'nope' in custom prompt."));
        assert!(err("a { b").contains("Malformed custom prompt"));
        assert_eq!(
            err("x {"),
            "Malformed custom prompt: Single '{' encountered in format string. Double literal braces ({{, }}) to keep them as text."
        );
        assert!(err("x }").contains("Single '}' encountered in format string"));
        assert!(err("{}").contains("Replacement index 0 out of range for positional args tuple"));
        assert!(err("{0}").contains("Replacement index 0 out of range"));
        assert!(err("{agent_id.x}").contains("'int' object has no attribute 'x'"));
    }
}
