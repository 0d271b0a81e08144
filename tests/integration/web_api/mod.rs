//! The HTTP API through `router(state).oneshot(...)`: every endpoint, status code and error.
//!
//! This file holds the fixture (two fleets behind a router) and the request helpers; each
//! submodule covers one subject.

mod access;
mod events;
mod fleets;
mod messages;
mod monitor;
mod routes;
mod send;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cafleet::broker::Broker;
use cafleet::db::Db;
use cafleet::model::CodingAgent;
use cafleet::model::FleetId;
use cafleet::tmux::Tmux;
use cafleet::web::{AppState, Security, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

const HOST: &str = "127.0.0.1:8000";
const ORIGIN: &str = "http://127.0.0.1:8000";

struct Api {
    /// The database: a SQLite file, or a PostgreSQL database under `scripts/with-postgres`.
    env: Env,
    state: AppState,
}

use crate::support::{Env, unreachable_pane as pane};

impl Api {
    /// Fleet 1 (Director 1, Administrator 2) with alice 3 and bob 4; fleet 2 (5, 6) with eve 7.
    async fn new(token: Option<&str>) -> Api {
        Api::over(Env::new(), token).await
    }

    /// The same fixture in `env`'s database.
    async fn over(env: Env, token: Option<&str>) -> Api {
        let db = Db::connect(&env.database(), 4).await.unwrap();
        db.migrate().await.unwrap();
        // As `cafleet server` runs it.
        let broker = Broker::new(db.with_group_commit(), Tmux::from_env(), 200);
        broker
            .fleet_create(Some("alpha"), CodingAgent::Claude, &pane())
            .await
            .unwrap();
        broker
            .agent_register(FleetId(1), "alice", "writes", None)
            .await
            .unwrap();
        broker
            .agent_register(FleetId(1), "bob", "reviews", None)
            .await
            .unwrap();
        broker
            .fleet_create(None, CodingAgent::Codex, &pane())
            .await
            .unwrap();
        broker
            .agent_register(FleetId(2), "eve", "other fleet", None)
            .await
            .unwrap();
        let state = AppState::new(
            broker,
            Security::for_bind("127.0.0.1", 8000, token.map(str::to_string)),
        );
        Api { env, state }
    }

    fn broker(&self) -> &Broker {
        &self.state.broker
    }

    /// Another process's broker on the same database (like a CLI command's).
    async fn other_writer(&self) -> Broker {
        let db = Db::connect(&self.env.database(), 1).await.unwrap();
        Broker::new(db, Tmux::from_env(), 200)
    }

    async fn call(&self, req: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
        crate::support::answer(&self.state, req).await
    }

    async fn get(&self, path: &str, fleet: Option<&str>) -> (StatusCode, Value) {
        let mut b = Request::get(path).header("host", HOST);
        if let Some(f) = fleet {
            b = b.header("x-fleet-id", f);
        }
        let (s, v, _) = self.call(b.body(Body::empty()).unwrap()).await;
        (s, v)
    }

    async fn send(&self, method: &str, path: &str, fleet: &str, body: &str) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", HOST)
            .header("origin", ORIGIN)
            .header("x-fleet-id", fleet)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let (s, v, _) = self.call(req).await;
        (s, v)
    }
}

/// A request as the SPA (or a script) sends it: Host and Origin of the loopback server.
fn request(method: &str, path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", HOST)
        .header("origin", ORIGIN)
}
