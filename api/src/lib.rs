//! The Diia.QR engine as a library: the application layer, the HTTP API, configuration and
//! start-up. The `diia-qr` binary is a thin command line over it.

pub mod citizen_services;
pub mod config;
pub mod embedded_pg;
pub mod engine;
pub mod http;
pub mod startup;
