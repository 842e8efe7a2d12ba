//! The event log as the read side sees it: the commit-ordered reader (`reader`) and the follower
//! that feeds projections batch by batch with a durable checkpoint each (`follower`).

pub mod follower;
pub mod reader;

pub use follower::{catch_up, run_batch, spawn_follower, Projection, ProjectionError};
pub use reader::{read_after, LogPosition, StoredEvent};
