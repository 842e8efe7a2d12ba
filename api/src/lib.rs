//! The Diia.QR engine as a library: the application layer (`app`), the HTTP API (`http`),
//! the OpenAPI schemas of types it shows but does not own (`schemas`), configuration, start-up,
//! and the embedded PostgreSQL manager. The `diia-qr` binary is a thin
//! command line over it (`cli`).

pub mod app;
pub mod config;
pub mod embedded_pg;
pub mod http;
pub mod pages;
pub mod schemas;
pub mod startup;
