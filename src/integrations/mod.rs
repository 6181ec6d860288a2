//! Clients of outside services. Each speaks its provider's wire format (paths, headers,
//! JSON, signatures) exactly as `shared/reference/integrations.md` records it, and takes its
//! base URL from the configuration so tests can point it at a local fake.

/// MercadoPago Checkout Pro: preferences, payments, refunds, webhook signatures.
pub mod mercadopago;
