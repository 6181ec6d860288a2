//! The public JSON API, version 1. Handlers convert DTOs into domain types and call the store;
//! the OpenAPI document is generated from the same handlers, so it cannot drift.

mod bookings;
mod catalog;
pub mod dto;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "BarberPro API",
        version = "1",
        description = "Reservas de turnos para una cadena de barberías. Errors: \
                       `{\"error\": {\"code\": \"…\", \"message\": \"…\"}}` with a stable English \
                       `code` and a Spanish message."
    ),
    components(schemas(dto::ErrorBody, dto::ErrorDetail)),
    modifiers(&BearerScheme),
    tags((name = "catalogue", description = "Branches, services and barbers"),
         (name = "bookings", description = "Availability and bookings"))
)]
struct ApiDoc;

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "manage_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Marks a POST's body as one that may be left out (`required: false`), as `OptionalJson`
/// reads it: utoipa has no attribute for it, and `Option<T>` would also allow `null`.
fn body_optional(mut doc: utoipa::openapi::OpenApi, path: &str) -> utoipa::openapi::OpenApi {
    if let Some(body) = doc
        .paths
        .paths
        .get_mut(path)
        .and_then(|item| item.post.as_mut())
        .and_then(|op| op.request_body.as_mut())
    {
        body.required = Some(utoipa::openapi::Required::False);
    }
    doc
}

/// Marks the booking's `services` as `uniqueItems` (a service twice is refused): utoipa has
/// no attribute for it.
fn services_unique(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{RefOr, schema::Schema};
    if let Some(RefOr::T(Schema::Object(request))) = doc
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut("CreateBookingRequest"))
        && let Some(RefOr::T(Schema::Array(services))) = request.properties.get_mut("services")
    {
        services.unique_items = true;
    }
    doc
}

/// The API routes, with `GET /api/v1/openapi.json` describing them.
pub fn router() -> Router<AppState> {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(catalog::list_branches))
        .routes(routes!(catalog::list_services))
        .routes(routes!(catalog::list_barbers))
        .routes(routes!(bookings::availability))
        .routes(routes!(bookings::create))
        .routes(routes!(bookings::get_booking))
        .routes(routes!(bookings::reschedule))
        .routes(routes!(bookings::cancel))
        .split_for_parts();
    let doc = Arc::new(services_unique(body_optional(
        doc,
        "/api/v1/bookings/{id}/cancel",
    )));
    router.route(
        "/api/v1/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move { axum::Json(doc.as_ref().clone()) }
        }),
    )
}
