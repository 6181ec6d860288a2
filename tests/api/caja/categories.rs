//! Commission rules per service category, through the admin: a category set on the service
//! form, a rate for it on the rules form, a service's own rule winning over it, and the
//! statement saying which rule produced each line.

use barberpro::domain::ServiceId;
use barberpro::store::catalog;
use reqwest::StatusCode;

use super::forms::walk_in;
use crate::admin::{Browser, owner_app};

async fn categorise(
    b: &mut Browser,
    id: u64,
    name: &str,
    minutes: &str,
    price: &str,
    category: &str,
) {
    let csrf = b.get("/admin/catalogo").await.csrf();
    let saved = b
        .post(
            &format!("/admin/catalogo/servicios/{id}"),
            &[
                ("csrf", csrf.as_str()),
                ("name", name),
                ("duration", minutes),
                ("buffer", "5"),
                ("price", price),
                ("active", "1"),
                ("category", category),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
}

#[tokio::test]
async fn a_category_rule_applies_to_its_services_without_a_rule_of_their_own() {
    let (app, mut b) = owner_app().await;
    // Barba ($ 5.000) and Afeitado ($ 6.500) in «Barba»; Corte clásico without a category.
    categorise(&mut b, 3, "Barba", "20", "5000", "Barba").await;
    categorise(&mut b, 4, "Afeitado con navaja", "30", "6500", "barba").await;
    let cat = app.store.read(catalog::load).await.unwrap();
    let barba = cat.services.iter().find(|s| s.id == ServiceId(3)).unwrap();
    assert_eq!(barba.category.as_ref().map(|c| c.as_str()), Some("Barba"));
    assert!(
        b.get("/admin/catalogo")
            .await
            .body
            .contains("value=\"Barba\""),
        "the form shows the category"
    );

    let page = b.get("/admin/comisiones?barber=1").await;
    assert!(
        page.body.contains("name=\"categoria_Barba\""),
        "one rate per category, spelled as first written: {}",
        page.body
    );
    let csrf = page.csrf();
    b.post(
        "/admin/comisiones/1/reglas",
        &[
            ("csrf", csrf.as_str()),
            ("servicios", "40"),
            ("productos", "0"),
            ("regla_4", "50"),
            ("categoria_Barba", "37,5"),
        ],
    )
    .await
    .expect_redirect("/admin/comisiones?barber=1");
    let bad = b
        .post(
            "/admin/comisiones/1/reglas",
            &[
                ("csrf", csrf.as_str()),
                ("servicios", "40"),
                ("productos", "0"),
                ("categoria_Barba", "37,555"),
            ],
        )
        .await;
    assert!(
        b.get(&bad.location).await.body.contains("flash-error"),
        "three decimals refused"
    );
    assert!(
        b.get("/admin/comisiones?barber=1")
            .await
            .body
            .contains("value=\"37,5\""),
        "the refused form left the saved rate"
    );

    walk_in(
        &mut b,
        &[
            ("servicio", "1"),
            ("servicio", "3"),
            ("servicio", "4"),
            ("pago_efectivo", "19500"),
        ],
    )
    .await
    .expect_redirect("/admin/caja/comprobante/");
    // 40 % of 8.000 = 3.200; 37,5 % of 5.000 = 1.875; 50 % of 6.500 = 3.250 → 8.325.
    let csv = b
        .get("/admin/comisiones.csv?barber=1&desde=2027-03-01&hasta=2027-03-07")
        .await
        .body;
    for want in [
        "Corte clásico,8000.00,40 % (regla general),3200.00",
        "Barba,5000.00,\"37,5 % (categoría «Barba»)\",1875.00",
        "Afeitado con navaja,6500.00,50 % (regla del servicio),3250.00",
        ",,total,,,,8325.00",
    ] {
        assert!(csv.contains(want), "the statement lacks {want:?}: {csv}");
    }
    let page = b
        .get("/admin/comisiones?barber=1&periodo=semana&fecha=2027-03-01")
        .await;
    assert!(
        page.body.contains("37,5 % (categoría «Barba»)"),
        "{}",
        page.body
    );
}
