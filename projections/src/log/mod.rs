//! The event log as the read side sees it: the commit-ordered reader (`reader`), the follower
//! that feeds projections batch by batch with a durable checkpoint each (`follower`), their
//! standing (`status`), the rebuild of a view from the first event (`rebuild`) and the one LISTEN
//! connection that wakes followers and mail workers (`wakeups`).

pub mod follower;
pub mod reader;
pub mod rebuild;
pub mod status;
pub mod wakeups;

pub use follower::{catch_up, resume, run_batch, spawn_follower, FailedAt, Projection, ProjectionError};
pub use reader::{read_after, LogPosition, StoredEvent, EVENT_COLUMNS};
pub use rebuild::{rebuild, RebuildError, RebuildProgress, RebuildReport};
pub use status::{caught_up, caught_up_on, projection_status, ProjectionStatus};
