//! Black-box tests of the engine through its HTTP API, against a real PostgreSQL cluster.

mod audit;
mod authorization;
mod cabinet;
mod cabinet_pages;
mod concurrency;
mod delivery;
mod diia_signature;
mod end_to_end;
mod event_log;
mod hardening;
mod metrics;
mod moderation;
mod openapi;
mod pages;
mod photo_verification;
mod problems;
mod projections;
mod qr_codes;
mod retention;
mod rules;
mod search;
mod sign_in;
mod verification;
