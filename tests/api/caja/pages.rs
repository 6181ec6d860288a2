//! La caja's pages over HTTP: CSRF and roles, commissions (rules, statement, CSV, close) and
//! the owner's reports (SVG charts, CSV of every table).

use barberpro::domain::staff::Role;
use reqwest::StatusCode;

use super::forms::{ledger_len, walk_in};
use crate::admin::{Browser, owner_app};

#[tokio::test]
async fn forms_without_the_session_csrf_token_are_refused_and_change_nothing() {
    let (app, mut b) = owner_app().await;
    let form: &[(&str, &str)] = &[
        ("branch", "palermo"),
        ("barber", "1"),
        ("servicio", "1"),
        ("pago_efectivo", "8000"),
    ];
    for path in [
        "/admin/caja/cobrar",
        "/admin/caja/abrir",
        "/admin/productos/nuevo",
        "/admin/comisiones/1/reglas",
    ] {
        let page = b.post(path, form).await;
        assert_eq!(
            page.status,
            StatusCode::FORBIDDEN,
            "{path} took a form without CSRF"
        );
        let mut forged = form.to_vec();
        forged.push(("csrf", "not-the-token"));
        assert_eq!(
            b.post(path, &forged).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    assert_eq!(ledger_len(&app).await, 0);
}

#[tokio::test]
async fn roles_limit_la_caja() {
    let (app, mut owner) = owner_app().await;
    let mut desk = Browser::staff(
        &app,
        "recepcion@barberpro.test",
        "Recepción",
        Role::Recepcion,
        None,
    )
    .await;
    let mut barber = Browser::staff(
        &app,
        "martin@barberpro.test",
        "Martín",
        Role::Barbero,
        Some(1),
    )
    .await;

    // A barbero: no till, no checkout, no reports; their own earnings only.
    for path in [
        "/admin/caja",
        "/admin/caja/cobrar",
        "/admin/productos",
        "/admin/reportes",
    ] {
        assert_eq!(
            barber.get(path).await.status,
            StatusCode::FORBIDDEN,
            "a barbero reached {path}"
        );
    }
    let csrf = barber.get("/admin/agenda").await.csrf();
    let charge = barber
        .post(
            "/admin/caja/cobrar",
            &[
                ("csrf", &csrf),
                ("branch", "palermo"),
                ("barber", "1"),
                ("servicio", "1"),
                ("pago_efectivo", "8000"),
            ],
        )
        .await;
    assert_eq!(charge.status, StatusCode::FORBIDDEN);
    let own = barber.get("/admin/comisiones?barber=2").await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(
        own.body.contains("Comisiones de Martín"),
        "a barbero saw another's earnings: {}",
        own.body
    );
    assert!(
        !own.body.contains("Reglas de comisión"),
        "a barbero saw the rules"
    );

    // Recepción: charges and runs the till; no reports, no commissions, no new products.
    for path in [
        "/admin/reportes",
        "/admin/comisiones",
        "/admin/reportes/dia.csv",
    ] {
        assert_eq!(
            desk.get(path).await.status,
            StatusCode::FORBIDDEN,
            "recepción reached {path}"
        );
    }
    let csrf = desk.get("/admin/caja").await.csrf();
    let create = desk
        .post(
            "/admin/productos/nuevo",
            &[("csrf", &csrf), ("nombre", "Cera"), ("precio", "100")],
        )
        .await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);
    walk_in(&mut desk, &[("servicio", "1"), ("pago_efectivo", "8000")])
        .await
        .expect_redirect("/admin/caja/comprobante/1");

    // The next day, recepción may not void yesterday's sale; the owner may.
    app.clock
        .set(crate::helpers::ts("2027-03-02T09:00:00-03:00"));
    desk.login_ok("recepcion@barberpro.test").await;
    let csrf = desk.get("/admin/caja").await.csrf();
    let void = [
        ("csrf", csrf.as_str()),
        ("branch", "palermo"),
        ("motivo", "error"),
    ];
    assert_eq!(
        desk.post("/admin/caja/anular/1", &void).await.status,
        StatusCode::FORBIDDEN
    );
    owner.login_ok("duena@barberpro.test").await;
    let csrf = owner.get("/admin/caja").await.csrf();
    let void = [
        ("csrf", csrf.as_str()),
        ("branch", "palermo"),
        ("motivo", "error de carga"),
    ];
    owner
        .post("/admin/caja/anular/1", &void)
        .await
        .expect_redirect("/admin/caja");
    let again = owner.post("/admin/caja/anular/1", &void).await;
    assert!(
        owner
            .get(&again.location)
            .await
            .body
            .contains("ya está anulado")
    );
    assert_eq!(ledger_len(&app).await, 2, "a sale and its void");
}

#[tokio::test]
async fn commissions_are_set_shown_line_by_line_exported_and_closed() {
    let (app, mut b) = owner_app().await;
    let csrf = b.get("/admin/comisiones?barber=1").await.csrf();
    let rules = [
        ("csrf", csrf.as_str()),
        ("servicios", "40"),
        ("productos", "10"),
        ("regla_3", "$500"),
    ];
    b.post("/admin/comisiones/1/reglas", &rules)
        .await
        .expect_redirect("/admin/comisiones?barber=1");
    let bad = [
        ("csrf", csrf.as_str()),
        ("servicios", "140"),
        ("productos", "10"),
    ];
    let refused = b.post("/admin/comisiones/1/reglas", &bad).await;
    assert!(
        b.get(&refused.location)
            .await
            .body
            .contains("entre 0 y 100")
    );
    walk_in(
        &mut b,
        &[
            ("servicio", "1"),
            ("servicio", "3"),
            ("propina", "1000"),
            ("pago_efectivo", "14000"),
        ],
    )
    .await
    .expect_redirect("/admin/caja/comprobante/");
    let page = b
        .get("/admin/comisiones?barber=1&periodo=semana&fecha=2027-03-01")
        .await;
    assert!(
        page.body.contains("Del 2027-03-01 al 2027-03-07"),
        "{}",
        page.body
    );
    for want in [
        "Corte clásico",
        "40 %",
        "$\u{a0}3.200,00",
        "$\u{a0}500,00 fijo",
        "Propina",
        "$\u{a0}4.700,00",
    ] {
        assert!(
            page.body.contains(want),
            "the statement lacks {want:?}: {}",
            page.body
        );
    }
    let csv = b
        .get("/admin/comisiones.csv?barber=1&desde=2027-03-01&hasta=2027-03-07")
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.body
            .contains("servicio,Corte clásico,8000.00,40 % (regla general),3200.00"),
        "{}",
        csv.body
    );
    assert!(csv.body.contains(",total,,,,4700.00"), "{}", csv.body);
    let close = [
        ("csrf", csrf.as_str()),
        ("desde", "2027-03-01"),
        ("hasta", "2027-03-07"),
    ];
    let closed = b.post("/admin/comisiones/1/cerrar", &close).await;
    assert!(
        b.get(&closed.location)
            .await
            .body
            .contains("Período cerrado")
    );
    let again = b.post("/admin/comisiones/1/cerrar", &close).await;
    assert!(
        b.get(&again.location)
            .await
            .body
            .contains("Ese período ya está cerrado.")
    );
    // The barber sees the same statement.
    let mut m = Browser::staff(
        &app,
        "martin@barberpro.test",
        "Martín",
        Role::Barbero,
        Some(1),
    )
    .await;
    assert!(
        m.get("/admin/comisiones")
            .await
            .body
            .contains("$\u{a0}4.700,00")
    );
}

#[tokio::test]
async fn the_owner_sees_the_day_in_the_reports_with_charts_and_csv() {
    let (_app, mut b) = owner_app().await;
    walk_in(
        &mut b,
        &[
            ("servicio", "1"),
            ("pago_efectivo", "5000"),
            ("pago_mercado_pago", "3000"),
        ],
    )
    .await
    .expect_redirect("/admin/caja/comprobante/");
    let page = b
        .get("/admin/reportes?desde=2027-03-01&hasta=2027-03-01")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<svg"), "no chart: {}", page.body);
    assert!(
        page.body.contains("id=\"report-tickets\">1<"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("id=\"report-average\">$\u{a0}8.000,00<"),
        "{}",
        page.body
    );
    for table in [
        "dia", "sucursal", "barbero", "servicio", "metodo", "producto",
    ] {
        let csv = b
            .get(&format!(
                "/admin/reportes/{table}.csv?desde=2027-03-01&hasta=2027-03-01"
            ))
            .await;
        assert_eq!(csv.status, StatusCode::OK, "{table}");
        assert!(csv.body.starts_with('\u{feff}'), "{table}: no BOM");
    }
    let csv = b
        .get("/admin/reportes/metodo.csv?desde=2027-03-01&hasta=2027-03-01")
        .await;
    assert!(
        csv.body.contains("Efectivo,0,5000.00") && csv.body.contains("MercadoPago,0,3000.00"),
        "{}",
        csv.body
    );
    let day = b
        .get("/admin/reportes/dia.csv?desde=2027-03-01&hasta=2027-03-01")
        .await;
    assert!(day.body.contains("2027-03-01,1,8000.00"), "{}", day.body);
    assert_eq!(
        b.get("/admin/reportes/nada.csv").await.status,
        StatusCode::NOT_FOUND
    );
    let bad = b
        .get("/admin/reportes?desde=2027-03-09&hasta=2027-03-01")
        .await;
    assert_eq!(
        bad.status,
        StatusCode::BAD_REQUEST,
        "a period ending before it starts"
    );
}
