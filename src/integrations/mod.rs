//! Clients of outside services, each pointed at a configurable base URL (tests use fakes).

/// WhatsApp Business Cloud API: template messages and webhook signatures.
pub mod whatsapp;
