//! Editing a product from the products list (owner): the filled-in form, the change saved
//! and audited, bad values sent back with their reason, other roles refused.

use barberpro::domain::caja::ProductId;
use barberpro::domain::staff::Role;
use barberpro::store::{audit, products};
use reqwest::StatusCode;

use super::forms::product;
use crate::admin::{Browser, owner_app};

#[tokio::test]
async fn the_owner_edits_a_product_from_the_list() {
    let (app, mut b) = owner_app().await;
    product(&mut b, "Pomada mate", "4.500", "5").await;
    let list = b.get("/admin/productos?branch=palermo").await;
    assert!(
        list.body
            .contains("href=\"/admin/productos/1?branch=palermo\""),
        "the list links the edit page: {}",
        list.body
    );
    let form = b.get("/admin/productos/1?branch=palermo").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("value=\"Pomada mate\""), "{}", form.body);
    assert!(form.body.contains("value=\"4500,00\""), "{}", form.body);
    let csrf = form.csrf();

    for (price, why) in [
        ("-5", "negative"),
        ("4,555", "three decimals"),
        ("muchos", "not a number"),
    ] {
        let bad = b
            .post(
                "/admin/productos/1",
                &[
                    ("csrf", &csrf),
                    ("branch", "palermo"),
                    ("nombre", "X"),
                    ("precio", price),
                    ("minimo", "2"),
                ],
            )
            .await;
        bad.expect_redirect("/admin/productos/1?branch=palermo");
        let back = b.get(&bad.location).await;
        assert!(back.body.contains("flash-error"), "{why}: {}", back.body);
        assert!(
            back.body.contains("value=\"Pomada mate\""),
            "{why}: the form again"
        );
    }
    let unchanged = app
        .store
        .read(|tx| products::get(tx, ProductId(1)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        unchanged.name.as_str(),
        "Pomada mate",
        "a refused form changes nothing"
    );

    b.post(
        "/admin/productos/1",
        &[
            ("csrf", &csrf),
            ("branch", "palermo"),
            ("nombre", "Pomada brillo"),
            ("precio", "5.200,50"),
            ("minimo", "2"),
        ],
    )
    .await
    .expect_redirect("/admin/productos?branch=palermo");
    let p = app
        .store
        .read(|tx| products::get(tx, ProductId(1)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.name.as_str(), "Pomada brillo");
    assert_eq!(p.price.centavos(), 520_050);
    assert_eq!(p.low_stock, 2);
    assert!(!p.active, "the unticked box takes it off sale");
    let list = b.get("/admin/productos?branch=palermo").await;
    assert!(
        list.body.contains("Pomada brillo</a> (no se vende)"),
        "{}",
        list.body
    );
    let entries = app
        .store
        .read(|tx| audit::list(tx, &audit::Filter::default(), 50))
        .await
        .unwrap();
    let change = entries
        .iter()
        .find(|e| e.action == "product.update")
        .expect("the change is audited");
    assert_eq!(change.actor_email, "duena@barberpro.test");
    assert_eq!(change.before.as_ref().unwrap()["price"], 450_000);

    // Without the CSRF token, or as recepción: refused.
    assert_eq!(
        b.post("/admin/productos/1", &[("nombre", "Y"), ("precio", "1")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let mut r = Browser::staff(
        &app,
        "recepcion@barberpro.test",
        "Recepción",
        Role::Recepcion,
        None,
    )
    .await;
    assert_eq!(
        r.get("/admin/productos/1").await.status,
        StatusCode::FORBIDDEN
    );
    let csrf = r.get("/admin/productos").await.csrf();
    assert_eq!(
        r.post(
            "/admin/productos/1",
            &[("csrf", &csrf), ("nombre", "Y"), ("precio", "1")]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert!(
        !r.get("/admin/productos")
            .await
            .body
            .contains("href=\"/admin/productos/1"),
        "recepción sees no edit link"
    );
    assert_eq!(
        b.get("/admin/productos/99").await.status,
        StatusCode::NOT_FOUND
    );
}
