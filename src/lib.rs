//! drover: a workflow orchestrator that lives in a terminal.
//!
//! Rooms, and who may call whom:
//! - `flow`: flow and config model, parsing, validation, DAG, templates (pure).
//! - `schedule`: cron expressions and fire times in a timezone (pure).
//! - `home`: a drover home on disk: finds and loads `drover.toml` and flows.
//! - `memory`: freed memory given back to the system after a burst of work.
//! - `private`: folders 0700 and files 0600 for drover's state and logs.
//! - `escape`: control characters in user text, escaped for printing (pure).
//! - `api`: the instance API: typed calls and events, its server and client.
//! - `cli`: the commands; uses the rooms above and prints.
// `deny`, not `forbid`: `memory` holds the one audited FFI call.
#![deny(unsafe_code)]

pub mod api;
pub mod cli;
pub mod control;
pub mod engine;
pub mod escape;
pub mod flow;
pub mod gitsync;
pub mod home;
pub mod logs;
pub mod memory;
pub mod private;
pub mod schedule;
pub mod store;
pub mod tui;
