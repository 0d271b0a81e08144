//! CAFleet: a message broker and agent registry for coding agents that run side by side in
//! tmux panes.
//!
//! Layers, dependencies pointing one way: [`cli`] parses and prints; [`broker`] holds the
//! business rules and transactions; [`db`] is the only place with SQL; [`tmux`] drives the
//! `tmux` binary and sanitises every keystroke payload; [`model`] and [`error`] are shared.
#![forbid(unsafe_code)]

pub mod activity;
pub mod backend;
pub mod broker;
pub mod cli;
pub mod config;
pub mod db;
pub mod delivery;
pub mod error;
pub mod hook;
pub mod host;
pub mod model;
pub mod monitor;
pub mod relay;
pub mod skills;
pub mod tmux;
pub mod typist;
pub mod web;

pub use error::{Error, Result};
