//! Integration tests: one binary, the real server over real HTTPS on 127.0.0.1:0.

// Test code may panic on a broken expectation: that is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod acme;
mod admin;
mod api_contract;
mod architecture;
mod availability;
mod availability_property;
mod booking_flow;
mod booking_pages;
mod booking_rules;
mod caja;
mod chromium;
mod cli;
mod concurrency;
mod demo_chain;
mod disk_full;
mod edges;
mod fake_mercadopago;
mod fuzz;
mod hardening;
mod input_validation;
mod journal_crash;
mod keep_alive;
mod migrations;
mod payments;
mod power;
mod privacy;
mod properties;
mod replication;
mod request_log;
mod server;
mod shutdown;
mod skipped;
mod snapshots;
mod tls_and_schema;
mod use_cases;
mod whatsapp;
mod whatsapp_crash;
mod whatsapp_fake;
