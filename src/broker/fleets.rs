//! Fleets: create (with its Director and Administrator), list, show, delete.

use super::Broker;
use crate::db::{self, NewAgent};
use crate::model::{Agent, CodingAgent, Fleet, FleetId, FleetSummary, Placement, now_ts};
use crate::tmux::PaneContext;
use crate::{Error, Result};

/// What `fleet create` made.
#[derive(Debug, Clone)]
pub struct FleetCreated {
    /// The new fleet.
    pub fleet: Fleet,
    /// Its root Director.
    pub director: Agent,
    /// The Director's placement (the calling pane).
    pub placement: Placement,
    /// The Administrator's id.
    pub administrator_agent_id: crate::model::AgentId,
}

/// Description of the root Director's agent row.
pub const DIRECTOR_DESCRIPTION: &str = "Root Director for this fleet";

impl Broker {
    /// Creates a fleet, its root Director placed at the calling pane (on its tmux server:
    /// docs/decisions.md, K3) and enrolled with the monitor, and its Administrator; one
    /// transaction, one "now".
    #[tracing::instrument(skip_all, fields(label = ?label), err)]
    pub async fn fleet_create(
        &self,
        label: Option<&str>,
        coding_agent: CodingAgent,
        caller: &PaneContext,
    ) -> Result<FleetCreated> {
        let now = now_ts();
        let mut tx = self.db.begin_write().await?;
        let fleet_id = db::fleets::insert(&mut tx, label, &now).await?;
        let director_card = db::agents::card_json(
            "Director",
            DIRECTOR_DESCRIPTION,
            &serde_json::json!([]),
            None,
        );
        let director_id = db::agents::insert(
            &mut tx,
            &NewAgent {
                fleet_id,
                name: "Director",
                description: DIRECTOR_DESCRIPTION,
                now: &now,
                card_json: &director_card,
            },
        )
        .await?;
        let placement = Placement {
            agent_id: director_id,
            director_agent_id: None,
            tmux_session: caller.session_name.clone(),
            tmux_window_id: caller.window_id.clone(),
            tmux_pane_id: Some(caller.pane_id.clone()),
            coding_agent: coding_agent.as_str().to_string(),
            created_at: now.clone(),
            tmux_socket: Some(caller.socket_path.clone()),
            host: Some(self.host().to_string()),
        };
        db::placements::insert(&mut tx, &placement).await?;
        db::monitor::insert_config(&mut tx, director_id, db::monitor::DIRECTOR_INTERVAL_SECS)
            .await?;
        db::fleets::set_director(&mut tx, fleet_id, director_id).await?;
        let admin_description = format!("Built-in administrator agent for fleet {fleet_id}");
        let admin_card = db::agents::card_json(
            "Administrator",
            &admin_description,
            &serde_json::json!([]),
            Some(crate::model::KIND_ADMINISTRATOR),
        );
        let administrator_agent_id = db::agents::insert(
            &mut tx,
            &NewAgent {
                fleet_id,
                name: "Administrator",
                description: &admin_description,
                now: &now,
                card_json: &admin_card,
            },
        )
        .await?;
        let fleet = db::fleets::get(&mut tx, fleet_id)
            .await?
            .ok_or_else(|| Error::failed("fleet vanished while being created"))?;
        let director = db::agents::get(&mut tx, director_id)
            .await?
            .ok_or_else(|| Error::failed("Director vanished while being created"))?;
        tx.commit().await?;
        Ok(FleetCreated {
            fleet,
            director,
            placement,
            administrator_agent_id,
        })
    }

    /// Live fleets, newest first.
    pub async fn fleet_list(&self) -> Result<Vec<FleetSummary>> {
        let mut conn = self.db.read().await?;
        db::fleets::list_live(&mut conn).await
    }

    /// Any fleet, soft-deleted included; `fleet '<id>' not found.` otherwise.
    pub async fn fleet_show(&self, fleet_id: FleetId) -> Result<Fleet> {
        let mut conn = self.db.read().await?;
        db::fleets::get(&mut conn, fleet_id)
            .await?
            .ok_or_else(|| fleet_not_found(fleet_id))
    }

    /// Soft-deletes a fleet: every active agent deregistered, placements, monitor rows and
    /// the monitor slot removed, messages kept. Idempotent. Returns how many agents were
    /// deregistered and the placements that were removed (whose panes the caller may close).
    #[tracing::instrument(skip(self), err)]
    pub async fn fleet_delete(&self, fleet_id: FleetId) -> Result<(u64, Vec<Placement>)> {
        let now = now_ts();
        let mut tx = self.db.begin_write().await?;
        if db::fleets::get(&mut tx, fleet_id).await?.is_none() {
            return Err(fleet_not_found(fleet_id));
        }
        db::fleets::mark_deleted(&mut tx, fleet_id, &now).await?;
        let deregistered = db::agents::deregister_fleet(&mut tx, fleet_id, &now).await?;
        let placements = db::placements::list_for_fleet(&mut tx, fleet_id).await?;
        db::placements::delete_for_fleet(&mut tx, fleet_id).await?;
        db::monitor::delete_for_fleet(&mut tx, fleet_id).await?;
        tx.commit().await?;
        Ok((deregistered, placements))
    }
}

fn fleet_not_found(fleet_id: FleetId) -> Error {
    Error::not_found(format!("fleet '{fleet_id}' not found."))
}
