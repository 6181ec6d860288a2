//! Clients at the front desk: one person per line whichever way the number is written, search
//! that ignores accents, case and phone formatting, and merging two records of one person.

use barberpro::domain::{Client, ClientId};
use barberpro::store::clients;
use serde_json::Value;

use super::*;

/// The client behind booking `id`.
async fn client_of_booking(app: &TestApp, id: u64) -> Client {
    let booking = get_booking(app, id).await;
    app.store
        .read(move |tx| clients::get(tx, booking.client))
        .await
        .expect("read")
        .expect("the booking's client exists")
}

/// Every client, by id.
async fn all_clients(app: &TestApp) -> Vec<Client> {
    app.store
        .read(|tx| {
            let mut found = Vec::new();
            for id in 1..=50 {
                found.extend(clients::get(tx, ClientId(id))?);
            }
            Ok(found)
        })
        .await
        .expect("read")
}

fn api_booking(start: &str, barber: u64, name: &str, phone: &str, consent: bool) -> Value {
    json!({
        "branch": "palermo", "services": [1], "barber": barber, "start": start,
        "client": {"name": name, "phone": phone, "whatsapp_consent": consent}
    })
}

#[tokio::test]
async fn a_mobile_written_without_0_and_15_finds_the_client_saved_with_them() {
    let app = spawn_app().await;
    let (first, _) = app
        .book_ok(&api_booking(
            &at(TUESDAY, "10:00"),
            1,
            "Ana Gómez",
            "011 15-2345-6789",
            true,
        ))
        .await;
    // The same mobile, as people write it without the trunk 0 and the 15: once without
    // consent (no hint that it is a mobile), once with it.
    let (second, _) = app
        .book_ok(&api_booking(
            &at(TUESDAY, "11:00"),
            1,
            "Ana",
            "11 2345-6789",
            false,
        ))
        .await;
    let (third, _) = app
        .book_ok(&api_booking(
            &at(TUESDAY, "12:00"),
            2,
            "Ana G.",
            "11 2345 6789",
            true,
        ))
        .await;
    let ana = client_of_booking(&app, first.n).await;
    assert_eq!(ana.phone.as_e164(), "+5491123456789");
    for id in [second, third] {
        assert_eq!(
            client_of_booking(&app, id.n).await.id,
            ana.id,
            "booking {id} made a second client for the same mobile"
        );
    }
    assert_eq!(all_clients(&app).await.len(), 1, "one person, one client");
    // And she cannot be in two chairs at once under the other form either.
    app.book(&api_booking(
        &at(TUESDAY, "10:00"),
        2,
        "Ana",
        "11 2345-6789",
        false,
    ))
    .await
    .expect_error(409, "client_overlap");
}

#[tokio::test]
async fn a_number_given_for_whatsapp_is_stored_as_a_mobile() {
    let app = spawn_app().await;
    let (id, _) = app
        .book_ok(&api_booking(
            &at(TUESDAY, "10:00"),
            1,
            "Beto Ruiz",
            "11 3456 7890",
            true,
        ))
        .await;
    let beto = client_of_booking(&app, id.n).await;
    assert_eq!(
        beto.phone.as_e164(),
        "+5491134567890",
        "WhatsApp reminders would go to a landline"
    );
    // Without consent and without 15 the number stays as written (a landline is possible).
    let (other, _) = app
        .book_ok(&api_booking(
            &at(TUESDAY, "11:00"),
            1,
            "Local",
            "(011) 4321-1234",
            false,
        ))
        .await;
    assert_eq!(
        client_of_booking(&app, other.n).await.phone.as_e164(),
        "+541143211234"
    );
}

#[tokio::test]
async fn the_new_booking_form_finds_the_client_under_either_form_of_the_number() {
    let (app, mut b) = owner_app().await;
    app.book_ok(&api_booking(
        &at(TUESDAY, "10:00"),
        1,
        "Ana Gómez",
        "011 15-2345-6789",
        true,
    ))
    .await;
    for typed in ["11 2345-6789", "1123456789", "+54 11 2345 6789"] {
        let page = b
            .get(&format!(
                "/admin/bookings/new?branch=palermo&date={TUESDAY}&phone={}",
                typed.replace(' ', "%20").replace('+', "%2B")
            ))
            .await;
        assert!(
            page.body
                .contains("Cliente existente: <strong>Ana Gómez</strong>"),
            "{typed:?} did not find Ana: {}",
            page.body
        );
    }
}

#[tokio::test]
async fn search_ignores_accents_case_and_how_the_phone_is_written() {
    let (app, mut b) = owner_app().await;
    app.book_ok(&api_booking(
        &at(TUESDAY, "10:00"),
        1,
        "José Pérez",
        "011 15-2345-6789",
        true,
    ))
    .await;
    app.book_ok(&api_booking(
        &at(TUESDAY, "10:00"),
        2,
        "Ana Núñez",
        "011 15-3456-7890",
        true,
    ))
    .await;
    for q in [
        "perez",
        "PEREZ",
        "Pérez",
        "jose",
        "josé pérez",
        "011 15-2345-6789",
        "11 2345-6789",
        "15-2345-6789",
        "+54 9 11 2345-6789",
        "2345 6789",
    ] {
        let page = b
            .get(&format!(
                "/admin/clientes?q={}",
                q.replace(' ', "%20").replace('+', "%2B")
            ))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(
            page.body.contains("José Pérez"),
            "{q:?} did not find José Pérez: {}",
            page.body
        );
        assert!(
            !page.body.contains("Ana Núñez"),
            "{q:?} found Ana Núñez too"
        );
    }
    let nunez = b.get("/admin/clientes?q=nunez").await;
    assert!(nunez.body.contains("Ana Núñez"), "{}", nunez.body);
}

#[tokio::test]
async fn the_new_booking_form_asks_once_whether_a_number_without_15_is_a_mobile() {
    let (app, mut b) = owner_app().await;
    let typed = "11 3456 7890";
    let query = format!(
        "/admin/bookings/new?branch=palermo&date={TUESDAY}&phone={}&services=1&barber=any",
        typed.replace(' ', "%20")
    );
    let form = b.get(&query).await;
    assert!(form.body.contains("¿Es un celular?"), "{}", form.body);
    let csrf = form.csrf();
    let start = format!("{TUESDAY}T10:00:00-03:00");
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("branch", "palermo"),
        ("date", TUESDAY),
        ("barber", "any"),
        ("services", "1"),
        ("start", start.as_str()),
        ("phone", typed),
        ("name", "Beto Ruiz"),
        ("source", "phone"),
    ];
    // Not answered (and no WhatsApp): back to the form, nothing booked.
    let page = b.post("/admin/bookings", &fields).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.body.contains("¿Es un celular?"), "{}", page.body);
    assert!(all_clients(&app).await.is_empty(), "booked without knowing");
    fields.push(("celular", "si"));
    b.post("/admin/bookings", &fields)
        .await
        .expect_redirect("/admin/agenda");
    let beto = client_of_booking(&app, 1).await;
    assert_eq!(beto.phone.as_e164(), "+5491134567890");
    // Now that he is known, the form finds him under either form and asks nothing.
    let again = b.get(&query).await;
    assert!(again.body.contains("Cliente existente"), "{}", again.body);
    assert!(!again.body.contains("¿Es un celular?"));

    // A landline, said so.
    let landline = "(011) 4321-1234";
    let start = format!("{TUESDAY}T11:00:00-03:00");
    b.post(
        "/admin/bookings",
        &[
            ("csrf", csrf.as_str()),
            ("branch", "palermo"),
            ("date", TUESDAY),
            ("barber", "any"),
            ("services", "1"),
            ("start", start.as_str()),
            ("phone", landline),
            ("name", "Oficina"),
            ("source", "phone"),
            ("celular", "no"),
        ],
    )
    .await
    .expect_redirect("/admin/agenda");
    assert_eq!(
        client_of_booking(&app, 2).await.phone.as_e164(),
        "+541143211234"
    );
}

/// The schema-3 fixture (tests/fixtures/schema-v3/README.md): Ana saved twice, as
/// +5491123456789 (client 1, booking 1 with Martín on Wednesday 9 December 2026 at 10:00)
/// and as +541123456789 (client 2, booking 2 with Lucía on Thursday 10 December at 10:00),
/// and José Pérez (client 3, booking 3).
async fn fixture_app() -> (TestApp, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-v3");
    for file in ["barberpro.redb", "secret.key"] {
        std::fs::copy(
            std::path::Path::new(fixture).join(file),
            tmp.path().join(file),
        )
        .unwrap();
    }
    let clock = barberpro::http::Clock::manual(barberpro_ts("2026-12-08T09:00:00-03:00"));
    let app = crate::helpers::spawn_app_with(crate::helpers::test_config(tmp.path()), clock).await;
    create_staff(&app, "duena@barberpro.test", "Dueña", Role::Owner, None).await;
    (app, tmp)
}

#[tokio::test]
async fn two_records_of_one_person_are_offered_and_merged_with_everything_kept() {
    let (app, _dir) = fixture_app().await;
    let mut b = Browser::new(&app);
    b.login_ok("duena@barberpro.test").await;

    // The search finds both, and says they are one number.
    let found = b.get("/admin/clientes?q=ana").await;
    assert!(
        found
            .body
            .contains("href=\"/admin/clientes/2/unificar?con=1\">Mismo número que Ana Fixture"),
        "{}",
        found.body
    );
    let page = b.get("/admin/clientes/1").await;
    assert!(
        page.body
            .contains("href=\"/admin/clientes/1/unificar?con=2\">revisalos y unificalos"),
        "{}",
        page.body
    );

    // A booking of the landline record at the same time as one of the mobile record.
    let start = "2026-12-09T10:00:00-03:00";
    let body = json!({
        "branch": "palermo", "services": [1], "barber": 2, "start": start,
        "client": {"name": "Ana", "phone": "11 2345-6789", "whatsapp_consent": false}
    });
    let (clash, token) = app.book_ok(&body).await;
    assert_eq!(get_booking(&app, clash.n).await.client, ClientId(2));

    let merge = b.get("/admin/clientes/1/unificar?con=2").await;
    assert_eq!(merge.status, StatusCode::OK, "{}", merge.body);
    assert!(
        merge
            .body
            .contains("id=\"keep-1\" required checked> Conservar este"),
        "the mobile with consent is suggested: {}",
        merge.body
    );
    let csrf = merge.csrf();
    let refused = b
        .post(
            "/admin/clientes/1/unificar",
            &[("csrf", &csrf), ("con", "2"), ("keep", "1")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::OK);
    assert!(
        refused.body.contains("No se unificaron"),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains(&format!("(turno {clash})", clash = clash.n)),
        "the bookings in the way are named: {}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("href=\"/admin/agenda?branch=palermo&#38;date=2026-12-09\"")
    );
    assert_eq!(all_clients(&app).await.len(), 3, "nothing merged");

    // Once one of the two is cancelled, the merge goes through.
    app.post_auth(
        &format!("/api/v1/bookings/{clash}/cancel"),
        &token,
        Some(&json!({"reason": "duplicado"})),
    )
    .await
    .expect(200);
    let done = b
        .post(
            "/admin/clientes/1/unificar",
            &[("csrf", &csrf), ("con", "2"), ("keep", "1")],
        )
        .await;
    done.expect_redirect("/admin/clientes/1");
    let page = b.get("/admin/clientes/1").await;
    assert!(
        page.body
            .contains("Clientes unificados: 2 turnos pasaron a este registro."),
        "{}",
        page.body
    );
    for id in [1, 2, clash.n] {
        assert!(
            page.body.contains(&format!("data-booking=\"{id}\"")),
            "booking {id} is in the history"
        );
        assert_eq!(get_booking(&app, id).await.client, ClientId(1));
    }
    assert!(
        !page.body.contains("id=\"same-line\""),
        "nothing left to merge"
    );
    let clients = all_clients(&app).await;
    assert_eq!(clients.len(), 2, "{clients:?}");
    let ana = &clients[0];
    assert_eq!(ana.merged_from, vec![ClientId(2)]);
    assert_eq!(ana.phone.as_e164(), "+5491123456789");
    assert_eq!(
        b.get("/admin/clientes/2").await.status,
        StatusCode::NOT_FOUND,
        "the other record is gone"
    );
    // Either form of the number is Ana, and she cannot be in two chairs at once: booking 2
    // (Thursday 10:00 with Lucía) moved into her timeline.
    let twice = json!({
        "branch": "palermo", "services": [1], "barber": 1,
        "start": "2026-12-10T10:00:00-03:00",
        "client": {"name": "Ana", "phone": "011 15-2345-6789", "whatsapp_consent": true}
    });
    app.book(&twice).await.expect_error(409, "client_overlap");
    let found = b.get("/admin/clientes?q=11%202345%206789").await;
    assert_eq!(
        found.body.matches("data-client=").count(),
        1,
        "{}",
        found.body
    );

    // The merge is audited with ids only, and Ana's export still has the other record's trail.
    let entries = app
        .store
        .read(|tx| {
            let filter = audit::Filter {
                entity: Some("client".into()),
                ..Default::default()
            };
            audit::list(tx, &filter, 50)
        })
        .await
        .expect("audit");
    let merge = entries
        .iter()
        .find(|e| e.action == "client.merge")
        .expect("the merge is audited");
    assert_eq!(merge.entity_id, Some(1));
    assert_eq!(merge.actor_email, "duena@barberpro.test");
    let after = merge.after.as_ref().expect("after").to_string();
    assert!(
        after.contains(&format!("\"bookings\":[2,{clash}]", clash = clash.n)),
        "{after}"
    );
    assert!(!after.contains("Ana"), "no names in the audit log: {after}");
    let export = b.get("/admin/clientes/1/datos.json").await;
    let data: Value = serde_json::from_str(&export.body).expect("JSON");
    let about_two = data["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .any(|e| e["entity"] == "client" && e["entity_id"] == 2);
    assert!(about_two, "the export lost the merged record's trail");
}
