//! Agents: register, list, show, deregister.

use super::{Broker, check_caller};
use crate::db::{self, NewAgent};
use crate::model::{Agent, AgentId, FleetId, Placement, now_ts};
use crate::{Error, Result};

/// An agent with its placement (for `agent show`).
#[derive(Debug, Clone)]
pub struct AgentDetail {
    /// The agent row.
    pub agent: Agent,
    /// Its placement, if pane-bound.
    pub placement: Option<Placement>,
}

impl Broker {
    /// Registers a plain agent (no placement, no monitor enrolment). `skills` must be a JSON
    /// array: anything else is refused, not silently replaced (docs/decisions.md, CLI-3).
    #[tracing::instrument(skip(self, description, skills), err)]
    pub async fn agent_register(
        &self,
        fleet_id: FleetId,
        name: &str,
        description: &str,
        skills: Option<&str>,
    ) -> Result<Agent> {
        validate_identity(name, description)?;
        let skills = parse_skills(skills)?;
        let now = now_ts();
        let mut tx = self.db.begin_write().await?;
        match db::fleets::get(&mut tx, fleet_id).await? {
            None => return Err(Error::usage(format!("Fleet '{fleet_id}' not found."))),
            Some(f) if f.deleted_at.is_some() => {
                return Err(Error::usage(format!("fleet {fleet_id} is deleted")));
            }
            Some(_) => {}
        }
        let card = db::agents::card_json(name, description, &skills, None);
        let id = db::agents::insert(
            &mut tx,
            &NewAgent {
                fleet_id,
                name,
                description,
                now: &now,
                card_json: &card,
            },
        )
        .await?;
        let agent = db::agents::get(&mut tx, id)
            .await?
            .ok_or_else(|| Error::failed("agent vanished while being registered"))?;
        tx.commit().await?;
        Ok(agent)
    }

    /// Active agents of a fleet, ascending id.
    pub async fn agent_list(&self, fleet_id: FleetId) -> Result<Vec<Agent>> {
        let mut conn = self.db.read().await?;
        super::live_fleet(&mut conn, fleet_id).await?;
        db::agents::list_active(&mut conn, fleet_id).await
    }

    /// An active agent of the fleet, as seen by a caller of the same fleet.
    pub async fn agent_show(
        &self,
        fleet_id: FleetId,
        caller: AgentId,
        target: AgentId,
    ) -> Result<AgentDetail> {
        let mut conn = self.db.read().await?;
        check_caller(&mut conn, fleet_id, caller).await?;
        let agent = match db::agents::get(&mut conn, target).await? {
            Some(a) if a.fleet_id == fleet_id && a.is_active() => a,
            _ => return Err(Error::not_found(format!("Agent {target} not found"))),
        };
        let placement = db::placements::get(&mut conn, target).await?;
        Ok(AgentDetail { agent, placement })
    }

    /// Deregisters an agent (not the root Director, not the Administrator). Returns the
    /// removed placement, whose pane the caller may close.
    #[tracing::instrument(skip(self), err)]
    pub async fn agent_deregister(
        &self,
        fleet_id: FleetId,
        agent_id: AgentId,
    ) -> Result<Option<Placement>> {
        let now = now_ts();
        let mut tx = self.db.begin_write().await?;
        let agent = match db::agents::get(&mut tx, agent_id).await? {
            Some(a) if a.fleet_id == fleet_id => a,
            _ => {
                return Err(Error::not_found(format!(
                    "agent {agent_id} is not a member of fleet {fleet_id}."
                )));
            }
        };
        if db::fleets::is_director_of_any(&mut tx, agent_id).await? {
            return Err(Error::usage(
                "cannot deregister the root Director; use 'cafleet fleet delete' instead",
            ));
        }
        if agent.is_administrator() {
            return Err(Error::forbidden("Administrator cannot be deregistered"));
        }
        if !db::agents::deregister(&mut tx, agent_id, &now).await? {
            return Err(Error::not_found(format!(
                "agent {agent_id} not found or already deregistered."
            )));
        }
        let placement = db::placements::get(&mut tx, agent_id).await?;
        db::placements::delete(&mut tx, agent_id).await?;
        db::monitor::delete_config(&mut tx, agent_id).await?;
        tx.commit().await?;
        Ok(placement)
    }
}

fn parse_skills(raw: Option<&str>) -> Result<serde_json::Value> {
    let Some(raw) = raw else {
        return Ok(serde_json::json!([]));
    };
    let value: serde_json::Value = serde_json::from_str(raw)
        .map_err(|e| Error::invalid(format!("Invalid JSON in --skills: {e}")))?;
    match value {
        serde_json::Value::Array(_) => Ok(value),
        other => {
            let kind = match other {
                serde_json::Value::Null => "null",
                serde_json::Value::Bool(_) => "a boolean",
                serde_json::Value::Number(_) => "a number",
                serde_json::Value::String(_) => "a string",
                _ => "an object",
            };
            Err(Error::invalid(format!(
                "Invalid JSON in --skills: expected a JSON array such as '[{{\"id\":\"x\",\"name\":\"X\"}}]', got {kind}"
            )))
        }
    }
}

/// Refuses a blank (empty or whitespace-only) name or description: they label the agent
/// everywhere it is shown and name its coding agent's session (docs/decisions.md, MEM-1).
pub fn validate_identity(name: &str, description: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid(
            "agent name may not be empty. Pass a name with --name \"...\".",
        ));
    }
    if description.trim().is_empty() {
        return Err(Error::invalid(
            "agent description may not be empty. Pass one with --description \"...\".",
        ));
    }
    Ok(())
}
