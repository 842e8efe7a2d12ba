//! Side effects driven by the log. The outbox reactor is a projection: it turns events that
//! promise mail into jobs inside its batch transaction. The delivery worker is not a follower:
//! it drains those jobs (lease, render, seal, send, retry) and reports each outcome back as a
//! command through `DeliveryOutcomes`; `mailer` is where the letters go.

pub mod delivery;
pub mod mailer;
pub mod outbox;
