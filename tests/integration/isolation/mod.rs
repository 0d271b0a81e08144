//! Fleet isolation sweep: two fleets, each with its Director on its own private tmux
//! server, stand-in members, registered-only agents and messages. Every CLI command and
//! every HTTP API route is run, as a caller of one fleet, with ids of the other fleet (or of
//! no fleet at all) in each id position, and must be refused with 0.14's error and change
//! nothing: every row of every table, the pane lists of both servers and every byte typed into
//! any pane stay exactly as they were. A refusal for another fleet's id must read exactly like
//! the refusal for an id that does not exist (no existence leaks: docs/decisions.md, MSG-1).
//!
//! The command tree and each command's id positions are read from `cafleet --help`, and the
//! routes from `src/web/mod.rs`: a new command, id option or route that the sweep does not
//! cover fails the tests.
//!
//! The sweep lives in one folder: `world` builds the fleets, `state` captures and compares
//! everything a refusal must leave untouched, `command_tree` reads the CLI's id positions,
//! `cli_cases` and `cli` are the CLI sweep, `api_client` and `api` the HTTP one.

mod api;
mod api_client;
mod cli;
mod cli_cases;
mod command_tree;
pub(crate) mod state;
mod world;

use api_client::*;
use cafleet::config::Database;
use cli_cases::*;
use command_tree::*;
use state::*;
use world::*;

use crate::support::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use cafleet::broker::Broker;
use cafleet::db::Db;
use cafleet::tmux::Tmux;
use cafleet::web::{AppState, Security, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// Ids that belong to nothing.
const GHOST_AGENT: i64 = 9999;
const GHOST_TASK: i64 = 99999;
const GHOST_FLEET: i64 = 999;

#[track_caller]
fn as_i64(v: &Value) -> i64 {
    match v.as_i64() {
        Some(n) => n,
        None => panic!("not an integer: {v}"),
    }
}
